//! Checksums that tell shards of one run from shards of another: the weights file's SHA-256 and a
//! fingerprint of the test images.

use std::io::Read;
use std::path::Path;

use burn::tensor::Device;
use sha2::{Digest, Sha256};

use crate::data::ImageSource;
use crate::error::{Error, Result};
use crate::runtime::readback::read_f32;

fn hex(digest: impl AsRef<[u8]>) -> String {
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `bytes`.
pub fn bytes_sha256(bytes: &[u8]) -> String {
    hex(Sha256::digest(bytes))
}

/// SHA-256 of a file, read in 1 MiB pieces.
pub fn file_sha256(path: &Path) -> Result<String> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(hasher.finalize()))
}

/// Images whose pixels enter the fingerprint: enough to tell two test sets apart without reading
/// a 50,000-image folder in every shard.
const PIXEL_IMAGES: usize = 16;

/// SHA-256 of the dataset's kind, image count, every label in order, and the pixels of its first
/// 16 images as the model sees them (after resizing and cropping).
pub fn data_fingerprint(data: &dyn ImageSource, device: &Device) -> Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(data.kind().to_string().as_bytes());
    hasher.update((data.len() as u64).to_le_bytes());
    for label in data.class_labels() {
        hasher.update((label as u64).to_le_bytes());
    }
    let first: Vec<usize> = (0..data.len().min(PIXEL_IMAGES)).collect();
    if !first.is_empty() {
        let (images, _) = data.batch(&first, device)?;
        hasher.update(format!("{:?}", images.dims()).as_bytes());
        for v in crate::blocking::block_on(read_f32(images))? {
            hasher.update(v.to_bits().to_le_bytes());
        }
    }
    Ok(hex(hasher.finalize()))
}
