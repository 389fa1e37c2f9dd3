//! Large files (the ImageNet model's weights) fetched once with a progress report and kept in
//! the browser's Cache API, so a second visit reads them from disk instead of the network.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, Response};

use super::browser::{fetch_ok, response_bytes};

/// The cache's name; a new version of the page's weights gets a new name.
const CACHE: &str = "perturb-models-v1";

/// Where the bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Downloaded now (and stored in the cache when the browser allows).
    Network,
    /// Read from the browser's cache.
    Cache,
}

impl Source {
    /// The name tests and the page show.
    pub fn id(self) -> &'static str {
        match self {
            Source::Network => "network",
            Source::Cache => "cache",
        }
    }
}

/// The page's cache, when the browser offers one (not in insecure contexts).
async fn open() -> Option<Cache> {
    let caches = web_sys::window()?.caches().ok()?;
    JsFuture::from(caches.open(CACHE))
        .await
        .ok()?
        .dyn_into()
        .ok()
}

/// The bytes of `url`: from the cache if it holds them, else downloaded with `on_progress`
/// told (bytes so far, total when the server says) after every chunk, then cached.
pub async fn fetch_cached(
    url: &str,
    on_progress: impl Fn(u64, Option<u64>),
) -> Result<(Vec<u8>, Source), String> {
    let cache = open().await;
    if let Some(cache) = &cache
        && let Ok(hit) = JsFuture::from(cache.match_with_str(url)).await
        && let Ok(response) = hit.dyn_into::<Response>()
    {
        return Ok((response_bytes(&response, url).await?, Source::Cache));
    }
    let response = fetch_ok(url).await?;
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok());
    let mut bytes = match response.body() {
        Some(body) => read_stream(body, url, total, &on_progress).await?,
        None => response_bytes(&response, url).await?,
    };
    if let Some(cache) = &cache {
        // The response copies the bytes into JavaScript's heap.
        if let Ok(stored) = Response::new_with_opt_u8_array(Some(&mut bytes)) {
            // A full disk or a private window refuses: the page works on, uncached.
            let _ = JsFuture::from(cache.put_with_str(url, &stored)).await;
        }
    }
    Ok((bytes, Source::Network))
}

/// Read a response body chunk by chunk, reporting progress.
async fn read_stream(
    body: web_sys::ReadableStream,
    url: &str,
    total: Option<u64>,
    on_progress: &impl Fn(u64, Option<u64>),
) -> Result<Vec<u8>, String> {
    let reader: web_sys::ReadableStreamDefaultReader = body
        .get_reader()
        .dyn_into()
        .map_err(|_| format!("could not read {url}"))?;
    let mut bytes = Vec::with_capacity(total.unwrap_or(0) as usize);
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|_| format!("the download of {url} broke off"))?;
        let done = Reflect::get(&chunk, &JsValue::from_str("done"))
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        if let Ok(value) = Reflect::get(&chunk, &JsValue::from_str("value")) {
            bytes.extend(Uint8Array::new(&value).to_vec());
        }
        on_progress(bytes.len() as u64, total);
    }
    Ok(bytes)
}

/// Forget `url` (its cached copy proved unreadable).
pub async fn evict(url: &str) {
    if let Some(cache) = open().await {
        let _ = JsFuture::from(cache.delete_with_str(url)).await;
    }
}
