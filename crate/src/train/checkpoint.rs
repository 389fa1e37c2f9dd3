//! Checkpoints at epoch boundaries: what a run needs besides its weights to go on as if it had not
//! stopped — the optimiser's state (Adam's moments, SGD's momentum), the step reached (so the rate
//! schedule and the shuffle continue), and the configuration it must be resumed with.
//!
//! Resuming is exact for objectives that draw no random numbers (standard, IBP): the weights equal
//! those of an uninterrupted run. PGD starts and Gaussian noise come from the device's generator,
//! whose state Burn does not expose, so those runs continue with fresh (seeded) draws.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::OptimizerRecord;
use burn::tensor::{Bytes, Tensor};
use serde::{Deserialize, Serialize};

use super::TrainConfig;
use crate::error::{Error, Result};
use crate::model::{ModelSpec, TrainableNet};

/// The state of a run at an epoch boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The run's configuration; a resume must use the same.
    pub config: TrainConfig,
    /// The network trained.
    pub spec: ModelSpec,
    /// Steps done.
    pub step: usize,
    /// Images in the training set.
    pub train_len: usize,
    /// Parameter ids, in the module's visiting order, that the optimiser state refers to.
    pub param_ids: Vec<u64>,
    /// The caller's own record of the run so far (the CLI keeps its per-epoch history here).
    #[serde(default)]
    pub notes: serde_json::Value,
    /// The optimiser state (Burn's burnpack bytes).
    #[serde(skip)]
    pub optimizer: Vec<u8>,
}

/// Magic and version at the head of a checkpoint file.
const MAGIC: &[u8; 8] = b"PTBCKPT1";

impl Checkpoint {
    /// The optimiser state as Burn's record.
    pub(super) fn optimizer_record(&self) -> Result<OptimizerRecord> {
        OptimizerRecord::from_bytes(Bytes::from_bytes_vec(self.optimizer.clone()))
            .map_err(|e| Error::format("checkpoint", format!("optimiser state: {e}")))
    }

    /// `record` as checkpoint bytes.
    pub(super) fn encode_optimizer(record: OptimizerRecord) -> Result<Vec<u8>> {
        record
            .into_bytes()
            .map(|b| b.to_vec())
            .map_err(|e| Error::format("checkpoint", format!("optimiser state: {e}")))
    }

    /// The file form: magic, the JSON header's length (u64 little-endian), the header, then the
    /// optimiser state.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let header =
            serde_json::to_vec(self).map_err(|e| Error::format("checkpoint", e.to_string()))?;
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.optimizer);
        Ok(out)
    }

    /// Read the file form, refusing anything else.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = |why: &str| Error::format("checkpoint", why.to_string());
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| bad("not a Perturb checkpoint"))?;
        let (len, rest) = rest.split_at_checked(8).ok_or_else(|| bad("truncated"))?;
        let len = u64::from_le_bytes(len.try_into().expect("8 bytes")) as usize;
        let (header, optimizer) = rest.split_at_checked(len).ok_or_else(|| bad("truncated"))?;
        let mut checkpoint: Self =
            serde_json::from_slice(header).map_err(|e| bad(&format!("header: {e}")))?;
        checkpoint.optimizer = optimizer.to_vec();
        Ok(checkpoint)
    }
}

/// The parameter ids of `model` in visiting order.
pub(super) fn param_ids(model: &TrainableNet) -> Vec<u64> {
    struct Ids(Vec<u64>);
    impl ModuleVisitor for Ids {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.id.val());
        }
    }
    let mut ids = Ids(Vec::new());
    model.visit(&mut ids);
    ids.0
}

/// `model` with its parameters renamed to `ids` (in visiting order), so that a saved optimiser
/// state finds them.
pub(super) fn with_param_ids(model: TrainableNet, ids: &[u64]) -> Result<TrainableNet> {
    let have = param_ids(&model).len();
    if have != ids.len() {
        return Err(Error::Mismatch(format!(
            "the checkpoint has state for {} parameters, the network has {have}",
            ids.len()
        )));
    }
    struct Rename<'a>(std::slice::Iter<'a, u64>);
    impl ModuleMapper for Rename<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let id = *self.0.next().expect("as many ids as parameters");
            let mut renamed = Param::from_tensor(param.val());
            renamed.id = ParamId::from(id);
            renamed
        }
    }
    Ok(model.map(&mut Rename(ids.iter())))
}
