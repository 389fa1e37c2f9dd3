//! Zoo models in the page: the default's weights are compiled in; the others are fetched from
//! `models/` on demand (Trunk copies the folder next to the page), so the bundle stays small.
//! ImageNet models (megabytes) report their download and stay in the browser's cache.

use burn::tensor::Device;
use perturb::data::DatasetKind;
use perturb::model::Sequential;
use perturb::zoo::ZooEntry;

use super::browser::fetch_bytes;
use super::cache::{Source, evict, fetch_cached};

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
    let url = format!("models/{}", entry.weights_file());
    if entry.dataset != DatasetKind::ImageNet {
        let bytes = fetch_bytes(&url).await?;
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
