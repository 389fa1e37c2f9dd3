//! Small bridges to the browser: fetching files served next to the page, handing control back
//! to the event loop during long work, and offering bytes as a download.

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The bytes of `url` (relative to the page), or a message naming it.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    response_bytes(&fetch_ok(url).await?, url).await
}

/// A successful response for `url`, or a message naming it (network failure, HTTP error).
pub async fn fetch_ok(url: &str) -> Result<web_sys::Response, String> {
    let window = web_sys::window().ok_or("no window")?;
    response_ok(window.fetch_with_str(url), url).await
}

/// The response a started `fetch` (`pending`, for `url`) brings, if successful.
pub async fn response_ok(pending: Promise, url: &str) -> Result<web_sys::Response, String> {
    let response: web_sys::Response = JsFuture::from(pending)
        .await
        .map_err(|_| format!("could not fetch {url}"))?
        .dyn_into()
        .map_err(|_| format!("unexpected answer for {url}"))?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    Ok(response)
}

/// A response's whole body.
pub async fn response_bytes(response: &web_sys::Response, url: &str) -> Result<Vec<u8>, String> {
    let buffer = response
        .array_buffer()
        .map_err(|_| format!("could not read {url}"))?;
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|_| format!("could not read {url}"))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Decode a picture with the browser (any format it reads), refusing sides over `max_side`:
/// width, height and RGBA bytes.
pub async fn decode_picture(
    blob: &web_sys::Blob,
    max_side: u32,
) -> Result<(u32, u32, Vec<u8>), String> {
    let window = web_sys::window().ok_or("no window")?;
    let promise = window
        .create_image_bitmap_with_blob(blob)
        .map_err(|_| "the browser cannot read this file")?;
    let bitmap: web_sys::ImageBitmap = JsFuture::from(promise)
        .await
        .map_err(|_| {
            "this is not an image the browser can decode (PNG, JPEG, GIF, WebP, …)".to_string()
        })?
        .dyn_into()
        .map_err(|_| "the browser returned something other than an image")?;
    let (w, h) = (bitmap.width(), bitmap.height());
    if w == 0 || h == 0 || w > max_side || h > max_side {
        return Err(format!(
            "the image is {w}×{h} pixels; the limit is {max_side} on each side"
        ));
    }
    let canvas: web_sys::HtmlCanvasElement = window
        .document()
        .and_then(|d| d.create_element("canvas").ok())
        .and_then(|c| c.dyn_into().ok())
        .ok_or("no canvas")?;
    canvas.set_width(w);
    canvas.set_height(h);
    let ctx: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into().ok())
        .ok_or("no 2D canvas")?;
    ctx.draw_image_with_image_bitmap(&bitmap, 0.0, 0.0)
        .map_err(|_| "the image could not be drawn")?;
    let data = ctx
        .get_image_data(0.0, 0.0, f64::from(w), f64::from(h))
        .map_err(|_| "the image's pixels could not be read")?;
    Ok((w, h, data.data().to_vec()))
}

/// Let the browser render, handle input and run its timers before the next chunk of work (a
/// zero-delay timer; a `MessageChannel` message comes back sooner but starves the page's timers).
pub async fn yield_now() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = Promise::new(&mut |resolve, _| {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    let _ = JsFuture::from(promise).await;
}

/// Longest stretch of work between two hand-backs to the browser, in milliseconds.
const SLICE_MS: f64 = 40.0;

thread_local! {
    static LAST_YIELD: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// [`yield_now`] once at least [`SLICE_MS`] have passed since the last time: the core's pause
/// hook, so long loops keep the page responsive without paying a timer on every step.
pub async fn yield_if_busy() {
    if js_sys::Date::now() - LAST_YIELD.with(std::cell::Cell::get) >= SLICE_MS {
        yield_now().await;
        LAST_YIELD.with(|t| t.set(js_sys::Date::now()));
    }
}

/// An object URL for `bytes`, for a download link (lives as long as the page).
pub fn object_url(bytes: &[u8], mime: &str) -> Result<String, String> {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|_| "could not make a download")?;
    web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| "could not make a download".into())
}

/// Bytes of the page's WebAssembly memory (it grows and never shrinks): exported for the soak
/// test, which reads it as `window.wasmBindings.wasm_memory_bytes()`.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn wasm_memory_bytes() -> f64 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    f64::from(
        memory
            .buffer()
            .unchecked_into::<js_sys::ArrayBuffer>()
            .byte_length(),
    )
}
