//! Small bridges to the browser: fetching files served next to the page, handing control back
//! to the event loop during long work, and offering bytes as a download.

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The bytes of `url` (relative to the page), or a message naming it.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|_| format!("could not fetch {url}"))?;
    let response: web_sys::Response = response
        .dyn_into()
        .map_err(|_| format!("unexpected answer for {url}"))?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let buffer = response
        .array_buffer()
        .map_err(|_| format!("could not read {url}"))?;
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|_| format!("could not read {url}"))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Let the browser render and handle input before the next chunk of work (a zero-delay timer:
/// on the CPU backend the work itself never awaits anything).
pub async fn yield_now() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = Promise::new(&mut |resolve, _| {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    let _ = JsFuture::from(promise).await;
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
