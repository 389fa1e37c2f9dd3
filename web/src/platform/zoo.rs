//! Zoo models in the page: weights are fetched from `models/` on demand (Trunk copies the folder
//! next to the page), so the bundle stays small; the first model's download starts with the page,
//! beside the backend's start. ImageNet models (megabytes) report their download and stay in the
//! browser's cache.

use std::cell::RefCell;

use burn::tensor::Device;
use perturb::data::DatasetKind;
use perturb::model::Sequential;
use perturb::zoo::ZooEntry;

use super::browser::{fetch_bytes, response_bytes, response_ok};
use super::cache::{Source, evict, fetch_cached};

thread_local! {
    /// A download started before the backend was up: its URL and the pending response.
    static PREFETCHED: RefCell<Option<(String, js_sys::Promise)>> = const { RefCell::new(None) };
}

/// Start downloading `entry`'s weights now, so that the page's first model arrives while the
/// backend starts; [`load`] picks the download up. ImageNet weights go through the cache instead.
pub fn prefetch(entry: ZooEntry) {
    if entry.embedded_weights().is_some() || entry.dataset == DatasetKind::ImageNet {
        return;
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    let url = weights_url(entry);
    let pending = window.fetch_with_str(&url);
    PREFETCHED.with(|p| *p.borrow_mut() = Some((url, pending)));
}

/// Where `entry`'s weights are served, relative to the page.
fn weights_url(entry: ZooEntry) -> String {
    format!("models/{}", entry.weights_file())
}

/// The weights at `url`: the prefetched download if it is for `url`, else a new one.
async fn small_weights(url: &str) -> Result<Vec<u8>, String> {
    let prefetched = PREFETCHED.with(|p| p.borrow_mut().take());
    match prefetched {
        Some((started, pending)) if started == url => {
            response_bytes(&response_ok(pending, url).await?, url).await
        }
        _ => fetch_bytes(url).await,
    }
}

/// Load `entry` onto `device`: weights checked against its architecture, with a message naming
/// the model when anything is wrong. Large weights report progress (bytes, total) and say where
/// they came from; a cached copy that fails the check is dropped and downloaded again.
pub async fn load(
    entry: ZooEntry,
    device: &Device,
    on_progress: impl Fn(u64, Option<u64>),
) -> Result<(Sequential, Option<Source>), String> {
    if let Some(bytes) = entry.embedded_weights() {
        return Ok((entry.load(bytes, device).map_err(|e| e.to_string())?, None));
    }
    let url = weights_url(entry);
    if entry.dataset != DatasetKind::ImageNet {
        let bytes = small_weights(&url).await?;
        return Ok((entry.load(&bytes, device).map_err(|e| e.to_string())?, None));
    }
    // At most two tries: a bad cached copy is evicted and downloaded once more; a bad download
    // is evicted and refused.
    loop {
        let (bytes, source) = fetch_cached(&url, &on_progress).await?;
        match entry.load(&bytes, device) {
            Ok(model) => return Ok((model, Some(source))),
            Err(e) => {
                evict(&url).await;
                if source == Source::Network {
                    return Err(format!("{e} (the downloaded file was not kept)"));
                }
            }
        }
    }
}
