//! In-memory labelled image datasets and their conversion to tensors.

use std::path::Path;

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::{RgbImage, csv, idx};
use crate::error::{Error, Result};

/// The datasets Perturb knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// Handwritten digits.
    Mnist,
    /// Zalando's clothing images.
    FashionMnist,
    /// ImageNet-1k (ILSVRC2012): RGB photos in 1,000 classes, read from a folder on disk.
    #[serde(rename = "imagenet")]
    #[cfg_attr(feature = "clap", value(name = "imagenet"))]
    ImageNet,
}

/// Train or test split.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    /// The training split (60,000 images for both datasets).
    Train,
    /// The test split (10,000 images for both datasets).
    Test,
}

impl Split {
    /// Both splits.
    pub const ALL: [Split; 2] = [Split::Train, Split::Test];

    /// Name as written on the command line.
    pub fn id(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

crate::names::named_enum!(Split, "split");

impl DatasetKind {
    /// Every known dataset.
    pub const ALL: [DatasetKind; 3] = [
        DatasetKind::Mnist,
        DatasetKind::FashionMnist,
        DatasetKind::ImageNet,
    ];

    /// The datasets whose first 1,000 test images ship inside the library
    /// ([`super::shipped_test_subset`]): the 28×28 ones the page plays with.
    pub const SHIPPED: [DatasetKind; 2] = [DatasetKind::Mnist, DatasetKind::FashionMnist];

    /// Short machine name, as used on the command line and in URLs.
    pub fn id(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
            DatasetKind::ImageNet => "imagenet",
        }
    }

    /// The number of classes.
    pub fn classes(self) -> usize {
        self.class_names().len()
    }

    /// Human-readable class names, indexed by label.
    pub fn class_names(self) -> &'static [&'static str] {
        match self {
            DatasetKind::Mnist => &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            DatasetKind::FashionMnist => &[
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
            DatasetKind::ImageNet => super::imagenet::class_names(),
        }
    }

    /// One image as `[channels, height, width]` (for ImageNet, the usual 224×224 crop; a model
    /// may take another size).
    pub fn image_shape(self) -> [usize; 3] {
        match self {
            DatasetKind::Mnist | DatasetKind::FashionMnist => [1, 28, 28],
            DatasetKind::ImageNet => [3, 224, 224],
        }
    }

    /// Whether images come in one fixed size (the 28×28 datasets), rather than being resized and
    /// cropped to each model's input (ImageNet).
    pub fn fixed_size(self) -> bool {
        self != DatasetKind::ImageNet
    }

    /// The number of images each split of the full dataset holds (ImageNet's test split is
    /// ILSVRC2012's labelled validation set).
    pub fn expected_len(self, split: Split) -> usize {
        match (self, split) {
            (DatasetKind::ImageNet, Split::Train) => 1_281_167,
            (DatasetKind::ImageNet, Split::Test) => 50_000,
            (_, Split::Train) => 60_000,
            (_, Split::Test) => 10_000,
        }
    }
}

crate::names::named_enum!(DatasetKind, "dataset");

/// A labelled set of 8-bit images of one shape, channel-major (`[channels, rows, cols]` bytes
/// an image): grayscale digits or prepared RGB photos.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Which dataset the images come from.
    pub kind: DatasetKind,
    channels: usize,
    rows: usize,
    cols: usize,
    pixels: Vec<u8>,
    labels: Vec<u16>,
}

impl Dataset {
    /// Build a grayscale dataset from raw parts, checking that the sizes agree and that every
    /// label is a class of `kind`.
    pub fn new(
        kind: DatasetKind,
        rows: usize,
        cols: usize,
        pixels: Vec<u8>,
        labels: Vec<u8>,
    ) -> Result<Self> {
        let labels = labels.into_iter().map(u16::from).collect();
        Self::with_shape(kind, [1, rows, cols], pixels, labels)
    }

    /// Build a dataset of `[channels, rows, cols]` images (bytes channel-major, image after
    /// image), checking that the sizes agree and that every label is a class of `kind`.
    pub fn with_shape(
        kind: DatasetKind,
        [channels, rows, cols]: [usize; 3],
        pixels: Vec<u8>,
        labels: Vec<u16>,
    ) -> Result<Self> {
        let per_image = channels * rows * cols;
        if per_image == 0 || pixels.len() != labels.len() * per_image {
            return Err(Error::Mismatch(format!(
                "{} labels but {} pixel bytes for {channels}x{rows}x{cols} images",
                labels.len(),
                pixels.len()
            )));
        }
        let classes = kind.classes();
        if let Some(bad) = labels.iter().find(|&&l| usize::from(l) >= classes) {
            return Err(Error::format(
                "labels",
                format!("label {bad} is outside 0..{classes}"),
            ));
        }
        Ok(Self {
            kind,
            channels,
            rows,
            cols,
            pixels,
            labels,
        })
    }

    /// RGB images (each the same size) and their labels, as a dataset of `[3, h, w]` images.
    pub fn from_rgb(kind: DatasetKind, images: &[RgbImage], labels: Vec<u16>) -> Result<Self> {
        let (w, h) = images.first().map_or((0, 0), |i| (i.width, i.height));
        let mut pixels = Vec::with_capacity(images.len() * 3 * w * h);
        for image in images {
            if (image.width, image.height) != (w, h) {
                return Err(Error::Mismatch(format!(
                    "a {}×{} image among {w}×{h} ones",
                    image.width, image.height
                )));
            }
            for c in 0..3 {
                pixels.extend(image.pixels.iter().skip(c).step_by(3));
            }
        }
        Self::with_shape(kind, [3, h, w], pixels, labels)
    }

    /// Decode a pair of IDX files (gzip or raw).
    pub fn from_idx(kind: DatasetKind, images: &[u8], labels: &[u8]) -> Result<Self> {
        let images = idx::parse_images(images)?;
        let labels = idx::parse_labels(labels)?;
        if images.count != labels.len() {
            return Err(Error::Mismatch(format!(
                "{} images but {} labels",
                images.count,
                labels.len()
            )));
        }
        Self::new(kind, images.rows, images.cols, images.pixels, labels)
    }

    /// Decode MNIST-style CSV of 28×28 images.
    pub fn from_csv(kind: DatasetKind, text: &str) -> Result<Self> {
        let parsed = csv::parse(text, 28 * 28)?;
        Self::new(kind, 28, 28, parsed.pixels, parsed.labels)
    }

    /// Load a full split from the fetched data folder (see `scripts/fetch-data.sh`):
    /// `mnist/mnist_{train,test}.csv` and `fashion-mnist/{train,t10k}-*-ubyte.gz`.
    /// Checks the image count against the published size.
    pub fn load_dir(kind: DatasetKind, split: Split, dir: &Path) -> Result<Self> {
        let read = |name: String| -> Result<Vec<u8>> {
            let path = dir.join(kind.id()).join(name);
            std::fs::read(&path).map_err(|source| Error::Io {
                path: format!("{} (run scripts/fetch-data.sh first)", path.display()),
                source,
            })
        };
        let dataset = match kind {
            DatasetKind::Mnist => {
                let name = match split {
                    Split::Train => "mnist_train.csv",
                    Split::Test => "mnist_test.csv",
                };
                let bytes = read(name.into())?;
                let text = std::str::from_utf8(&bytes)
                    .map_err(|_| Error::format("CSV images", "file is not UTF-8 text"))?;
                Self::from_csv(kind, text)?
            }
            DatasetKind::FashionMnist => {
                let prefix = match split {
                    Split::Train => "train",
                    Split::Test => "t10k",
                };
                Self::from_idx(
                    kind,
                    &read(format!("{prefix}-images-idx3-ubyte.gz"))?,
                    &read(format!("{prefix}-labels-idx1-ubyte.gz"))?,
                )?
            }
            DatasetKind::ImageNet => {
                return Err(Error::InvalidArgument(
                    "ImageNet is read from an image folder (ImageFolder::open), not loaded whole"
                        .into(),
                ));
            }
        };
        let expected = kind.expected_len(split);
        if dataset.len() != expected {
            return Err(Error::Mismatch(format!(
                "{} {split:?} holds {} images, expected {expected}",
                kind.id(),
                dataset.len()
            )));
        }
        Ok(dataset)
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the dataset holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Image height and width.
    pub fn image_size(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// One image's `[channels, height, width]`.
    pub fn image_shape(&self) -> [usize; 3] {
        [self.channels, self.rows, self.cols]
    }

    /// All labels in order.
    pub fn labels(&self) -> &[u16] {
        &self.labels
    }

    /// All labels in order, as class indices.
    pub fn class_labels(&self) -> Vec<usize> {
        self.labels.iter().map(|&l| usize::from(l)).collect()
    }

    /// Every image's bytes, image after image (channel-major).
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Images `indices`, in that order (each must be in range).
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        let mut pixels = Vec::with_capacity(indices.len() * self.pixels_per_image());
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            if i >= self.len() {
                return Err(Error::InvalidArgument(format!(
                    "image index {i} out of range (dataset holds {})",
                    self.len()
                )));
            }
            pixels.extend_from_slice(self.image_bytes(i));
            labels.push(self.labels[i]);
        }
        Dataset::with_shape(self.kind, self.image_shape(), pixels, labels)
    }

    /// Raw bytes of image `index` (channel-major).
    pub fn image_bytes(&self, index: usize) -> &[u8] {
        let n = self.channels * self.rows * self.cols;
        &self.pixels[index * n..(index + 1) * n]
    }

    /// Image `index` scaled to [0, 1].
    pub fn image(&self, index: usize) -> Vec<f32> {
        self.image_bytes(index)
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect()
    }

    /// These images and one more (`pixels` channel-major, the dataset's shape) labelled `label`.
    pub fn appended(&self, pixels: &[u8], label: u16) -> Result<Dataset> {
        let mut all = self.pixels.clone();
        all.extend_from_slice(pixels);
        let mut labels = self.labels.clone();
        labels.push(label);
        Dataset::with_shape(self.kind, self.image_shape(), all, labels)
    }

    /// The first `n` images (or all of them when there are fewer).
    pub fn take(&self, n: usize) -> Dataset {
        self.range(0, n)
    }

    /// Images `start..end`, clamped to the dataset.
    pub fn range(&self, start: usize, end: usize) -> Dataset {
        let end = end.min(self.len());
        let start = start.min(end);
        let size = self.channels * self.rows * self.cols;
        Dataset {
            kind: self.kind,
            channels: self.channels,
            rows: self.rows,
            cols: self.cols,
            pixels: self.pixels[start * size..end * size].to_vec(),
            labels: self.labels[start..end].to_vec(),
        }
    }

    /// Images `indices` as an `[n, channels, rows, cols]` tensor in [0, 1], with their labels.
    pub fn batch(&self, indices: &[usize], device: &Device) -> Result<(Tensor<4>, Tensor<1, Int>)> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(Error::InvalidArgument(format!(
                "image index {bad} out of range (dataset holds {})",
                self.len()
            )));
        }
        let mut values = Vec::with_capacity(indices.len() * self.pixels_per_image());
        for &i in indices {
            values.extend(self.image_bytes(i).iter().map(|&p| f32::from(p) / 255.0));
        }
        let labels: Vec<i64> = indices.iter().map(|&i| i64::from(self.labels[i])).collect();
        let images = Tensor::from_data(
            TensorData::new(values, [indices.len(), self.channels, self.rows, self.cols]),
            device,
        );
        let labels = Tensor::from_data(TensorData::new(labels, [indices.len()]), device);
        Ok((images, labels))
    }

    /// Bytes of one image.
    fn pixels_per_image(&self) -> usize {
        self.channels * self.rows * self.cols
    }

    /// Encode as a pair of gzip-compressed IDX files (images, labels): grayscale images with
    /// labels below 256 only, as IDX holds.
    pub fn to_idx_gz(&self) -> Result<(Vec<u8>, Vec<u8>)> {
        use std::io::Write;
        if self.channels != 1 {
            return Err(Error::InvalidArgument(format!(
                "IDX holds grayscale images; these have {} channels",
                self.channels
            )));
        }
        let labels = self
            .labels
            .iter()
            .map(|&l| u8::try_from(l))
            .collect::<std::result::Result<Vec<u8>, _>>()
            .map_err(|_| {
                Error::InvalidArgument("IDX labels are bytes; a label is over 255".into())
            })?;
        let gz = |raw: Vec<u8>| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(&raw).expect("writing to memory cannot fail");
            enc.finish().expect("writing to memory cannot fail")
        };
        let images = idx::IdxImages {
            count: self.len(),
            rows: self.rows,
            cols: self.cols,
            pixels: self.pixels.clone(),
        };
        Ok((
            gz(idx::encode_images(&images)),
            gz(idx::encode_labels(&labels)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inconsistent_parts_are_refused() {
        assert!(Dataset::new(DatasetKind::Mnist, 2, 2, vec![0; 7], vec![1, 2]).is_err());
        let err = Dataset::new(DatasetKind::Mnist, 1, 1, vec![0], vec![12]).unwrap_err();
        assert!(err.to_string().contains("outside"));
    }

    #[test]
    fn idx_gz_round_trip_and_count_mismatch() {
        let d = Dataset::new(
            DatasetKind::FashionMnist,
            1,
            2,
            vec![0, 255, 10, 20],
            vec![3, 9],
        )
        .unwrap();
        let (images, labels) = d.to_idx_gz().unwrap();
        assert_eq!(
            Dataset::from_idx(DatasetKind::FashionMnist, &images, &labels).unwrap(),
            d
        );
        let (_, one_label) = d.take(1).to_idx_gz().unwrap();
        let err = Dataset::from_idx(DatasetKind::FashionMnist, &images, &one_label).unwrap_err();
        assert!(err.to_string().contains("2 images but 1 labels"), "{err}");
    }

    #[test]
    fn batch_is_normalised_and_checks_indices() {
        let d = Dataset::new(DatasetKind::Mnist, 1, 2, vec![0, 255, 51, 102], vec![3, 9]).unwrap();
        let device = Device::flex();
        let (x, y) = d.batch(&[1, 0], &device).unwrap();
        assert_eq!(x.dims(), [2, 1, 1, 2]);
        assert_eq!(
            x.into_data().try_into_vec_as::<f32>().unwrap(),
            vec![0.2, 0.4, 0.0, 1.0]
        );
        assert_eq!(y.into_data().try_into_vec_as::<i64>().unwrap(), vec![9, 3]);
        assert!(d.batch(&[2], &device).is_err());
    }

    #[test]
    fn rgb_images_become_channel_major_batches_with_imagenet_labels() {
        // Two 2×1 RGB images: pixels (r, g, b) interleaved.
        let a = RgbImage::new(2, 1, vec![10, 20, 30, 40, 50, 60]).unwrap();
        let b = RgbImage::new(2, 1, vec![255, 0, 0, 0, 255, 0]).unwrap();
        let d = Dataset::from_rgb(DatasetKind::ImageNet, &[a, b], vec![999, 0]).unwrap();
        assert_eq!(d.image_shape(), [3, 1, 2]);
        assert_eq!(d.image_bytes(0), &[10, 40, 20, 50, 30, 60]);
        let (x, y) = d.batch(&[1], &Device::flex()).unwrap();
        assert_eq!(x.dims(), [1, 3, 1, 2]);
        assert_eq!(
            x.into_data().try_into_vec_as::<f32>().unwrap(),
            vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
        );
        assert_eq!(y.into_data().try_into_vec_as::<i64>().unwrap(), vec![0]);
        assert_eq!(d.appended(&[0; 6], 7).unwrap().labels(), &[999, 0, 7]);
        assert!(d.appended(&[0; 5], 7).is_err());
        let err = Dataset::from_rgb(
            DatasetKind::ImageNet,
            &[RgbImage::new(1, 1, vec![0; 3]).unwrap()],
            vec![1000],
        )
        .unwrap_err();
        assert!(err.to_string().contains("outside 0..1000"), "{err}");
        assert!(d.to_idx_gz().is_err(), "IDX holds grayscale only");
        let c = RgbImage::new(1, 1, vec![0; 3]).unwrap();
        let mixed = [RgbImage::new(2, 1, vec![0; 6]).unwrap(), c];
        assert!(Dataset::from_rgb(DatasetKind::ImageNet, &mixed, vec![0, 1]).is_err());
    }

    #[test]
    fn missing_files_name_the_fetch_script() {
        let err = Dataset::load_dir(DatasetKind::Mnist, Split::Test, Path::new("/nonexistent"))
            .unwrap_err();
        assert!(err.to_string().contains("fetch-data.sh"), "{err}");
    }
}
