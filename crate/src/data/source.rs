//! [`ImageSource`]: labelled images handed out a batch at a time, from memory ([`Dataset`]) or
//! streamed from disk (`ImageFolder`), so sweeps, transfer and evaluation run on either.

use burn::tensor::{Device, Int, Tensor};

use super::{Dataset, DatasetKind};
use crate::error::Result;

/// Labelled images of one shape, read a batch at a time.
pub trait ImageSource {
    /// Which dataset (and so which classes) the images belong to.
    fn kind(&self) -> DatasetKind;

    /// Number of images.
    fn len(&self) -> usize;

    /// Whether there is no image.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every label in order, as class indices (cheap: no image is read).
    fn class_labels(&self) -> Vec<usize>;

    /// Images `indices` as `[n, channels, height, width]` in [0, 1], with their labels.
    fn batch(&self, indices: &[usize], device: &Device) -> Result<(Tensor<4>, Tensor<1, Int>)>;
}

impl ImageSource for Dataset {
    fn kind(&self) -> DatasetKind {
        self.kind
    }

    fn len(&self) -> usize {
        Dataset::len(self)
    }

    fn class_labels(&self) -> Vec<usize> {
        Dataset::class_labels(self)
    }

    fn batch(&self, indices: &[usize], device: &Device) -> Result<(Tensor<4>, Tensor<1, Int>)> {
        Dataset::batch(self, indices, device)
    }
}

/// Test images as a command reads them: a whole split in memory (the 28×28 datasets) or a folder
/// streamed from disk (ImageNet).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone)]
pub enum TestImages {
    /// Decoded in memory.
    Memory(Dataset),
    /// Read and prepared a batch at a time.
    Folder(super::ImageFolder),
}

#[cfg(not(target_arch = "wasm32"))]
impl TestImages {
    /// The test images of `kind` for a model taking `input` (`[channels, height, width]`):
    /// the shipped 1,000 (or, with `dir`, the full test split) for the 28×28 datasets; for
    /// ImageNet, the image folder `dir` (an `ImageFolder` tree, or flat with its `labels` file)
    /// prepared by torchvision's evaluation transform at the model's side, unreadable files
    /// handled as `bad` says.
    pub fn open(
        kind: DatasetKind,
        input: [usize; 3],
        dir: Option<&std::path::Path>,
        labels: Option<&std::path::Path>,
        bad: super::BadImages,
    ) -> Result<Self> {
        use crate::error::Error;
        if kind.fixed_size() {
            if input != kind.image_shape() {
                return Err(Error::Mismatch(format!(
                    "the model takes {input:?} inputs but {kind} images are {:?}",
                    kind.image_shape()
                )));
            }
            if labels.is_some() {
                return Err(Error::InvalidArgument(format!(
                    "a labels file is for image folders; {kind} is read from its own files"
                )));
            }
            return Ok(Self::Memory(match dir {
                Some(dir) => Dataset::load_dir(kind, super::Split::Test, dir)?,
                None => super::shipped_test_subset(kind)?,
            }));
        }
        let [c, h, w] = input;
        if c != 3 || h != w {
            return Err(Error::Mismatch(format!(
                "{kind} images are square RGB crops; the model takes {input:?}"
            )));
        }
        let dir = dir.ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{kind} is read from a folder of images: give its path (an ImageFolder tree, or \
                 a flat folder with a labels file)"
            ))
        })?;
        let transform = super::EvalTransform::for_side(h);
        Ok(Self::Folder(super::ImageFolder::open(
            kind, dir, labels, transform, bad,
        )?))
    }

    /// The first `n` images (all when there are fewer).
    pub fn take(self, n: usize) -> Self {
        match self {
            Self::Memory(d) => Self::Memory(d.take(n)),
            Self::Folder(f) => Self::Folder(f.take(n)),
        }
    }

    /// Files left out of a folder as unreadable (none in memory).
    pub fn skipped(&self) -> usize {
        match self {
            Self::Memory(_) => 0,
            Self::Folder(f) => f.skipped().len(),
        }
    }

    fn source(&self) -> &dyn ImageSource {
        match self {
            Self::Memory(d) => d,
            Self::Folder(f) => f,
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl ImageSource for TestImages {
    fn kind(&self) -> DatasetKind {
        self.source().kind()
    }

    fn len(&self) -> usize {
        self.source().len()
    }

    fn class_labels(&self) -> Vec<usize> {
        self.source().class_labels()
    }

    fn batch(&self, indices: &[usize], device: &Device) -> Result<(Tensor<4>, Tensor<1, Int>)> {
        self.source().batch(indices, device)
    }
}
