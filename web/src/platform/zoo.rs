//! Zoo models in the page: the default's weights are compiled in; the others are fetched from
//! `models/` on demand (Trunk copies the folder next to the page), so the bundle stays small.

use burn::tensor::Device;
use perturb::model::Sequential;
use perturb::zoo::ZooEntry;

use super::browser::fetch_bytes;

/// Load `entry` onto `device`: weights checked against its architecture, with a message naming
/// the model when anything is wrong.
pub async fn load(entry: ZooEntry, device: &Device) -> Result<Sequential, String> {
    let bytes = match entry.embedded_weights() {
        Some(bytes) => bytes.to_vec(),
        None => fetch_bytes(&format!("models/{}", entry.weights_file())).await?,
    };
    entry.load(&bytes, device).map_err(|e| e.to_string())
}
