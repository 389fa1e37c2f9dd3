//! Test images served beside the page rather than compiled into it: the ImageNet sample photos
//! (Trunk copies the set-up's `data/imagenet/samples`), fetched, decoded and prepared by the core
//! exactly as the command line prepares an image folder; and the MNIST and Fashion-MNIST subsets
//! (Trunk copies `crate/assets`' files to `subsets/`), which keeps 600 kB out of the bundle.

use perturb::data::{Dataset, DatasetKind, EvalTransform, decode, subset_files};

use super::browser::fetch_bytes;

/// Where the samples are served, relative to the page.
pub const SAMPLES: &str = "imagenet/samples";

/// How many samples the set-up fetches (foolbox 3.3.4's ImageNet images).
pub const COUNT: usize = 20;

/// The model's input side.
pub const SIDE: usize = 224;

/// Where the MNIST and Fashion-MNIST subsets are served, relative to the page.
pub const SUBSETS: &str = "subsets";

/// `kind`'s test images, fetched and decoded.
pub async fn test_images(kind: DatasetKind) -> Result<Dataset, String> {
    let Some([images, labels]) = subset_files(kind) else {
        return imagenet_samples().await;
    };
    let images = fetch_bytes(&format!("{SUBSETS}/{images}")).await?;
    let labels = fetch_bytes(&format!("{SUBSETS}/{labels}")).await?;
    Dataset::from_idx(kind, &images, &labels).map_err(|e| e.to_string())
}

/// The samples listed in `labels.txt` ("file class" lines), in file-name order, prepared for a
/// 224×224 model (shorter side to 256, centre crop).
pub async fn imagenet_samples() -> Result<Dataset, String> {
    let listing = fetch_bytes(&format!("{SAMPLES}/labels.txt")).await?;
    let listing = String::from_utf8(listing).map_err(|_| "labels.txt is not text".to_string())?;
    let mut entries: Vec<(String, u16)> = Vec::new();
    for line in listing.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.split_whitespace();
        let (Some(file), Some(label), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("labels.txt: bad line {line:?}"));
        };
        let label = label
            .parse::<u16>()
            .map_err(|_| format!("labels.txt: bad class in {line:?}"))?;
        entries.push((file.to_string(), label));
    }
    entries.sort();
    let transform = EvalTransform::for_side(SIDE);
    let mut images = Vec::with_capacity(entries.len());
    for (file, _) in &entries {
        let bytes = fetch_bytes(&format!("{SAMPLES}/{file}")).await?;
        let image = decode(&bytes).map_err(|e| format!("{file}: {e}"))?;
        images.push(transform.prepare(&image));
        super::browser::yield_now().await;
    }
    let labels = entries.iter().map(|(_, l)| *l).collect();
    Dataset::from_rgb(DatasetKind::ImageNet, &images, labels).map_err(|e| e.to_string())
}
