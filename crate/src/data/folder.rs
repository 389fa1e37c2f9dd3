//! Labelled images in a folder on disk, streamed a batch at a time: an `ImageFolder` tree (one
//! sub-folder per class, named by WordNet id for ImageNet) or a flat folder with a labels file
//! (the ILSVRC2012 validation layout). Each image is decoded (JPEG, PNG, WebP) and prepared by
//! torchvision's evaluation transform only when its batch is asked for, so memory stays bounded
//! whatever the folder holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::decode::{MAX_IMAGE_SIDE, decode};
use super::imagenet::{IMAGENET_CLASSES, class_of_wordnet_id};
use super::transform::{EvalTransform, RgbImage};
use super::{DatasetKind, ImageSource};
use crate::error::{Error, Result};

/// What to do with files that are not readable images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum BadImages {
    /// Leave them out and count them ([`ImageFolder::skipped`]).
    #[default]
    Skip,
    /// Refuse the folder, naming the first one.
    Fail,
}

/// Images on disk with their class labels.
#[derive(Debug, Clone)]
pub struct ImageFolder {
    kind: DatasetKind,
    files: Vec<PathBuf>,
    labels: Vec<usize>,
    transform: EvalTransform,
    skipped: Vec<(PathBuf, String)>,
}

/// The image file at `path`, decoded.
pub fn decode_file(path: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    decode(&bytes).map_err(|e| match e {
        Error::Format { what, detail } => Error::Format {
            what,
            detail: format!("{}: {detail}", path.display()),
        },
        other => other,
    })
}

/// Whether a file's header says it is an image we read, with dimensions within bounds (a quick
/// check: the pixels are decoded when its batch comes).
fn probe(path: &Path) -> std::result::Result<(), String> {
    let reader = image::ImageReader::open(path)
        .map_err(|e| e.to_string())?
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    match reader.format() {
        Some(image::ImageFormat::Jpeg | image::ImageFormat::Png | image::ImageFormat::WebP) => {}
        Some(other) => return Err(format!("{other:?} files are not read")),
        None => return Err("not an image file".into()),
    }
    let (w, h) = reader.into_dimensions().map_err(|e| e.to_string())?;
    if w == 0 || h == 0 || w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
        return Err(format!(
            "{w}×{h} pixels is outside 1–{MAX_IMAGE_SIDE} a side"
        ));
    }
    Ok(())
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The regular files of `dir`, sorted by name (hidden files left out).
fn files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if path.is_file() && !hidden {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A label written in a labels file: a class index, or a WordNet id.
fn parse_label(text: &str, kind: DatasetKind) -> Option<usize> {
    let classes = kind.classes();
    match text.parse::<usize>() {
        Ok(i) if i < classes => Some(i),
        Ok(_) => None,
        Err(_) if kind == DatasetKind::ImageNet => class_of_wordnet_id(text),
        Err(_) => None,
    }
}

impl ImageFolder {
    /// Open `dir`: an `ImageFolder` tree (sub-folders named by WordNet id map to ImageNet's
    /// indices; any other names are numbered in sorted order, as torchvision does), or, when
    /// `labels` names a file, the flat folder it labels. A labels file has one image per line:
    /// its file name (with or without extension) and its label (a class index or a WordNet
    /// id), separated by white space or a comma (`val.txt`, Kaggle's `LOC_val_solution.csv`);
    /// a header line is allowed. Images are prepared by `transform`.
    pub fn open(
        kind: DatasetKind,
        dir: &Path,
        labels: Option<&Path>,
        transform: EvalTransform,
        bad: BadImages,
    ) -> Result<Self> {
        let (files, labels) = match labels {
            Some(file) => Self::labelled_flat(kind, dir, file)?,
            None => Self::tree(kind, dir)?,
        };
        let mut folder = Self {
            kind,
            files: Vec::with_capacity(files.len()),
            labels: Vec::with_capacity(labels.len()),
            transform,
            skipped: Vec::new(),
        };
        for (file, label) in files.into_iter().zip(labels) {
            match probe(&file) {
                Ok(()) => {
                    folder.files.push(file);
                    folder.labels.push(label);
                }
                Err(why) if bad == BadImages::Fail => {
                    return Err(Error::format("image", format!("{}: {why}", file.display())));
                }
                Err(why) => folder.skipped.push((file, why)),
            }
        }
        if folder.files.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{} holds no readable image ({} skipped)",
                dir.display(),
                folder.skipped.len()
            )));
        }
        Ok(folder)
    }

    /// One sub-folder per class.
    fn tree(kind: DatasetKind, dir: &Path) -> Result<(Vec<PathBuf>, Vec<usize>)> {
        let mut classes: Vec<(String, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            if entry.path().is_dir() {
                classes.push((
                    entry.file_name().to_string_lossy().into_owned(),
                    entry.path(),
                ));
            }
        }
        classes.sort();
        if classes.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{} has no class sub-folders; for a flat folder give its labels file",
                dir.display()
            )));
        }
        let wordnet = kind == DatasetKind::ImageNet
            && classes
                .iter()
                .all(|(n, _)| class_of_wordnet_id(n).is_some());
        let (mut files, mut labels) = (Vec::new(), Vec::new());
        for (i, (name, path)) in classes.iter().enumerate() {
            let label = if wordnet {
                class_of_wordnet_id(name).expect("checked above")
            } else {
                i
            };
            if label >= kind.classes() {
                return Err(Error::Mismatch(format!(
                    "{} has {} class folders but {kind} has {} classes",
                    dir.display(),
                    classes.len(),
                    kind.classes()
                )));
            }
            for file in files_in(path)? {
                files.push(file);
                labels.push(label);
            }
        }
        Ok((files, labels))
    }

    /// A flat folder and its labels file.
    fn labelled_flat(
        kind: DatasetKind,
        dir: &Path,
        file: &Path,
    ) -> Result<(Vec<PathBuf>, Vec<usize>)> {
        let text = std::fs::read_to_string(file).map_err(io(file))?;
        let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let mut fields = line
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|f| !f.is_empty());
            let (Some(name), Some(label)) = (fields.next(), fields.next()) else {
                return Err(Error::format(
                    "labels file",
                    format!(
                        "{} line {}: expected a file name and a label",
                        file.display(),
                        n + 1
                    ),
                ));
            };
            match parse_label(label, kind) {
                Some(label) => {
                    by_name.insert(name.to_string(), label);
                }
                // A header (`ImageId,PredictionString`) is the one line allowed not to parse.
                None if n == 0 => {}
                None => {
                    return Err(Error::format(
                        "labels file",
                        format!(
                            "{} line {}: {label:?} is not a class of {kind}",
                            file.display(),
                            n + 1
                        ),
                    ));
                }
            }
        }
        let (mut files, mut labels) = (Vec::new(), Vec::new());
        for path in files_in(dir)? {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let stem = path
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if let Some(&label) = by_name.get(name).or_else(|| by_name.get(stem)) {
                files.push(path);
                labels.push(label);
            }
        }
        if files.is_empty() {
            return Err(Error::Mismatch(format!(
                "no file of {} is named in {}",
                dir.display(),
                file.display()
            )));
        }
        Ok((files, labels))
    }

    /// The first `n` images (all when there are fewer).
    pub fn take(mut self, n: usize) -> Self {
        self.files.truncate(n);
        self.labels.truncate(n);
        self
    }

    /// Files left out as unreadable, and why.
    pub fn skipped(&self) -> &[(PathBuf, String)] {
        &self.skipped
    }

    /// The image files, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The transform images are prepared with.
    pub fn transform(&self) -> EvalTransform {
        self.transform
    }
}

impl ImageSource for ImageFolder {
    fn kind(&self) -> DatasetKind {
        self.kind
    }

    fn len(&self) -> usize {
        self.files.len()
    }

    fn class_labels(&self) -> Vec<usize> {
        self.labels.clone()
    }

    fn batch(&self, indices: &[usize], device: &Device) -> Result<(Tensor<4>, Tensor<1, Int>)> {
        let side = self.transform.crop;
        let mut values = Vec::with_capacity(indices.len() * 3 * side * side);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            let path = self.files.get(i).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "image index {i} out of range (the folder holds {})",
                    self.files.len()
                ))
            })?;
            values.extend(self.transform.apply(&decode_file(path)?));
            labels.push(self.labels[i] as i64);
        }
        let n = indices.len();
        Ok((
            Tensor::from_data(TensorData::new(values, [n, 3, side, side]), device),
            Tensor::from_data(TensorData::new(labels, [n]), device),
        ))
    }
}

const _: () = assert!(IMAGENET_CLASSES == 1000);
