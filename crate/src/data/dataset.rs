//! In-memory labelled image datasets and their conversion to tensors.

use std::path::Path;

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::{csv, idx};
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

/// A labelled set of single-channel 8-bit images of one size.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Which dataset the images come from.
    pub kind: DatasetKind,
    rows: usize,
    cols: usize,
    pixels: Vec<u8>,
    labels: Vec<u8>,
}

impl Dataset {
    /// Build a dataset from raw parts, checking that the sizes agree and labels are in 0..10.
    pub fn new(
        kind: DatasetKind,
        rows: usize,
        cols: usize,
        pixels: Vec<u8>,
        labels: Vec<u8>,
    ) -> Result<Self> {
        let per_image = rows * cols;
        if per_image == 0 || pixels.len() != labels.len() * per_image {
            return Err(Error::Mismatch(format!(
                "{} labels but {} pixel bytes for {rows}x{cols} images",
                labels.len(),
                pixels.len()
            )));
        }
        if let Some(bad) = labels.iter().find(|&&l| l >= 10) {
            return Err(Error::format(
                "labels",
                format!("label {bad} is outside 0..10"),
            ));
        }
        Ok(Self {
            kind,
            rows,
            cols,
            pixels,
            labels,
        })
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

    /// All labels in order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// All labels in order, as class indices.
    pub fn class_labels(&self) -> Vec<usize> {
        self.labels.iter().map(|&l| usize::from(l)).collect()
    }

    /// Raw bytes of image `index`.
    pub fn image_bytes(&self, index: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.pixels[index * n..(index + 1) * n]
    }

    /// Image `index` scaled to [0, 1].
    pub fn image(&self, index: usize) -> Vec<f32> {
        self.image_bytes(index)
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect()
    }

    /// These images and one more (`pixels` row-major, the dataset's size) labelled `label`.
    pub fn appended(&self, pixels: &[u8], label: u8) -> Result<Dataset> {
        let mut all = self.pixels.clone();
        all.extend_from_slice(pixels);
        let mut labels = self.labels.clone();
        labels.push(label);
        Dataset::new(self.kind, self.rows, self.cols, all, labels)
    }

    /// The first `n` images (or all of them when there are fewer).
    pub fn take(&self, n: usize) -> Dataset {
        self.range(0, n)
    }

    /// Images `start..end`, clamped to the dataset.
    pub fn range(&self, start: usize, end: usize) -> Dataset {
        let end = end.min(self.len());
        let start = start.min(end);
        let size = self.rows * self.cols;
        Dataset {
            kind: self.kind,
            rows: self.rows,
            cols: self.cols,
            pixels: self.pixels[start * size..end * size].to_vec(),
            labels: self.labels[start..end].to_vec(),
        }
    }

    /// Images `indices` as an `[n, 1, rows, cols]` tensor in [0, 1], with their labels.
    pub fn batch(&self, indices: &[usize], device: &Device) -> Result<(Tensor<4>, Tensor<1, Int>)> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(Error::InvalidArgument(format!(
                "image index {bad} out of range (dataset holds {})",
                self.len()
            )));
        }
        let mut values = Vec::with_capacity(indices.len() * self.rows * self.cols);
        for &i in indices {
            values.extend(self.image_bytes(i).iter().map(|&p| f32::from(p) / 255.0));
        }
        let labels: Vec<i64> = indices.iter().map(|&i| i64::from(self.labels[i])).collect();
        let images = Tensor::from_data(
            TensorData::new(values, [indices.len(), 1, self.rows, self.cols]),
            device,
        );
        let labels = Tensor::from_data(TensorData::new(labels, [indices.len()]), device);
        Ok((images, labels))
    }

    /// Encode as a pair of gzip-compressed IDX files (images, labels).
    pub fn to_idx_gz(&self) -> (Vec<u8>, Vec<u8>) {
        use std::io::Write;
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
        (
            gz(idx::encode_images(&images)),
            gz(idx::encode_labels(&self.labels)),
        )
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
        let (images, labels) = d.to_idx_gz();
        assert_eq!(
            Dataset::from_idx(DatasetKind::FashionMnist, &images, &labels).unwrap(),
            d
        );
        let (_, one_label) = d.take(1).to_idx_gz();
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
    fn missing_files_name_the_fetch_script() {
        let err = Dataset::load_dir(DatasetKind::Mnist, Split::Test, Path::new("/nonexistent"))
            .unwrap_err();
        assert!(err.to_string().contains("fetch-data.sh"), "{err}");
    }
}
