//! Model cards: how a zoo model was trained and what it measured, written beside its weights by
//! `perturb train` and read by the zoo's report and its tests.

use serde::{Deserialize, Serialize};

use crate::data::DatasetKind;
use crate::error::{Error, Result};
use crate::eval::Evaluation;
use crate::model::ModelSpec;
use crate::train::TrainConfig;

/// One epoch's figures on the evaluation slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch, from 0.
    pub epoch: usize,
    /// Mean training loss over the reported steps.
    pub mean_loss: f32,
    /// Wall time of the epoch, evaluation included.
    pub seconds: f64,
    /// Clean, robust and verified accuracy on the evaluation slice.
    pub eval: Evaluation,
}

/// A model card (`models/<id>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// Zoo id (the file stem).
    pub name: String,
    /// Zoo architecture, or the path of a JSON spec.
    pub architecture: String,
    /// The layer spec the weights fit.
    pub spec: ModelSpec,
    /// The training data.
    pub dataset: DatasetKind,
    /// The command that trained it (or, for weights trained elsewhere, converted them).
    pub command: String,
    /// Where weights trained elsewhere come from (package, version, licence); absent for models
    /// trained by Perturb.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Its hyper-parameters (the objective among them); absent for weights trained elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<TrainConfig>,
    /// Training images seen per epoch.
    pub train_images: usize,
    /// Trainable parameters.
    pub parameters: usize,
    /// Per-epoch figures on the evaluation slice.
    #[serde(default)]
    pub history: Vec<EpochRecord>,
    /// Final figures on the test set the card names (`metrics.images`).
    pub metrics: Evaluation,
    /// Where it was trained.
    pub machine: String,
    /// Training time (absent for weights trained elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_time_s: Option<f64>,
    /// The weights' file name beside the card.
    pub weights_file: String,
    /// Size of the weights file.
    pub weights_bytes: usize,
    /// SHA-256 of the weights file, hex.
    pub weights_sha256: String,
}

impl ModelCard {
    /// Parse a card.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::format("model card", e.to_string()))
    }

    /// The card as pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let text = serde_json::to_string_pretty(self).expect("cards serialise");
        format!("{text}\n")
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl ModelCard {
    /// The card beside a weights file (`model.safetensors` → `model.json`).
    pub fn beside(weights: &std::path::Path) -> Result<Self> {
        let path = weights.with_extension("json");
        let bytes = crate::model::read_file(&path)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::format("model card", format!("{} is not UTF-8", path.display())))?;
        Self::from_json(&text).map_err(|e| match e {
            Error::Format { what, detail } => Error::Format {
                what,
                detail: format!("{}: {detail}", path.display()),
            },
            other => other,
        })
    }

    /// The model of a weights file with a card beside it, on `device`.
    pub fn load_beside(
        weights: &std::path::Path,
        device: &burn::tensor::Device,
    ) -> Result<crate::model::Sequential> {
        let card = Self::beside(weights)?;
        crate::model::Sequential::load_file(card.spec, weights, device)
    }
}
