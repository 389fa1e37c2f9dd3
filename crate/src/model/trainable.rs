//! A [`ModelSpec`] with trainable parameters: a Burn module the optimisers step, which turns into
//! the layer-by-layer [`Sequential`] for its forward pass, so the attacks, interval bounds (for
//! IBP training) and the SafeTensors export all see one description of the network.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use super::Classifier;
use super::sequential::{Layer, Sequential, WeightMap};
use super::spec::{LayerSpec, ModelSpec, Shape};
use crate::error::{Error, Result};
use crate::runtime::readback::read_f32;

/// A convolution's kernel `[out, in, k, k]` and bias.
#[derive(Module, Debug)]
pub struct ConvParams {
    weight: Param<Tensor<4>>,
    bias: Option<Param<Tensor<1>>>,
}

/// An affine map's weight `[in, out]` and bias.
#[derive(Module, Debug)]
pub struct LinearParams {
    weight: Param<Tensor<2>>,
    bias: Option<Param<Tensor<1>>>,
}

/// A layer without parameters.
#[derive(Module, Debug, Default)]
pub struct NoParams;

/// The parameters of one layer of the spec.
#[derive(Module, Debug)]
pub enum LayerParams {
    /// A convolution.
    Conv(ConvParams),
    /// An affine map.
    Linear(LinearParams),
    /// ReLU, pooling or flatten.
    None(NoParams),
}

/// A network described by a [`ModelSpec`] whose weights an optimiser can train.
///
/// Batch norm is not supported here: its training-mode statistics have no place in a folded
/// [`Sequential`]. Specs with it load for inference through [`Sequential`] only.
#[derive(Module, Debug)]
pub struct TrainableNet {
    params: Vec<LayerParams>,
    #[module(skip)]
    spec: ModelSpec,
}

fn param<const D: usize>(t: &Tensor<D>) -> Param<Tensor<D>> {
    Param::from_tensor(t.clone())
}

impl TrainableNet {
    /// `spec` with the given weights (PyTorch names and layouts) on `device`.
    pub fn from_weights(spec: ModelSpec, weights: WeightMap, device: &Device) -> Result<Self> {
        if spec
            .layers
            .iter()
            .any(|l| matches!(l, LayerSpec::BatchNorm { .. }))
        {
            return Err(Error::InvalidArgument(
                "training supports conv, linear, activation, pooling, normalisation, dropout and \
                 flatten layers with identity or dense skips, not batch norm"
                    .into(),
            ));
        }
        if spec
            .layers
            .iter()
            .any(|l| matches!(l, LayerSpec::AddSkip { shortcut } if !shortcut.is_empty()))
        {
            return Err(Error::InvalidArgument(
                "training supports identity shortcuts, not projection shortcuts".into(),
            ));
        }
        let model = Sequential::from_weights(spec, weights, device)?;
        let params = model
            .layers()
            .iter()
            .map(|layer| match layer {
                Layer::Conv2d { weight, bias, .. } => LayerParams::Conv(ConvParams {
                    weight: param(weight),
                    bias: bias.as_ref().map(param),
                }),
                Layer::Linear { weight, bias } => LayerParams::Linear(LinearParams {
                    weight: param(weight),
                    bias: bias.as_ref().map(param),
                }),
                _ => LayerParams::None(NoParams),
            })
            .collect();
        Ok(Self {
            params,
            spec: model.spec().clone(),
        })
    }

    /// `spec` with PyTorch's default initialisation, deterministic in `seed` on every backend.
    pub fn init(spec: ModelSpec, seed: u64, device: &Device) -> Result<Self> {
        let weights = Sequential::random_weights(&spec, seed)?;
        Self::from_weights(spec, weights, device)
    }

    /// The spec.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The network as a [`Sequential`] sharing these parameters: on an autodiff device,
    /// gradients of anything computed from it (logits, interval bounds) reach the parameters.
    pub fn sequential(&self) -> Sequential {
        let inputs = self
            .spec
            .input_shapes()
            .expect("the net's spec was checked when it was built");
        let layers = self
            .params
            .iter()
            .zip(&self.spec.layers)
            .zip(inputs)
            .map(|((params, spec), input)| match (params, spec, input) {
                (
                    LayerParams::Conv(p),
                    LayerSpec::Conv2d {
                        kernel_size,
                        stride,
                        padding,
                        groups,
                        ..
                    },
                    Shape::Image([_, h, w]),
                ) => Layer::Conv2d {
                    weight: p.weight.val(),
                    bias: p.bias.as_ref().map(Param::val),
                    stride: *stride,
                    padding: padding.sides([h, w], *kernel_size, *stride),
                    groups: *groups,
                },
                (LayerParams::Linear(p), _, _) => Layer::Linear {
                    weight: p.weight.val(),
                    bias: p.bias.as_ref().map(Param::val),
                },
                (_, spec, _) => Layer::without_params(spec)
                    .expect("layers with parameters were matched when the net was built"),
            })
            .collect();
        Sequential::from_parts(self.spec.clone(), layers)
    }

    /// This net with every parameter but the last linear layer's frozen (no gradient), for
    /// training the final layer alone on fixed features: transfer learning.
    pub fn train_last_layer_only(self) -> Self {
        let last = self
            .params
            .iter()
            .rposition(|p| matches!(p, LayerParams::Linear(_)));
        let params = self
            .params
            .into_iter()
            .enumerate()
            .map(|(i, p)| if Some(i) == last { p } else { p.no_grad() })
            .collect();
        Self {
            params,
            spec: self.spec,
        }
    }

    /// The weights in PyTorch names and layouts (read back from the device).
    pub async fn weights(&self) -> Result<WeightMap> {
        let mut map = WeightMap::new();
        for (i, params) in self.params.iter().enumerate() {
            let name = self.spec.layer_name(i);
            let (weight, bias) = match params {
                LayerParams::Conv(p) => {
                    let w = p.weight.val();
                    let shape = w.dims().to_vec();
                    ((shape, read_f32(w).await?), p.bias.as_ref())
                }
                LayerParams::Linear(p) => {
                    // Stored [in, out]; PyTorch keeps [out, in].
                    let w = p.weight.val().transpose();
                    let shape = w.dims().to_vec();
                    ((shape, read_f32(w).await?), p.bias.as_ref())
                }
                LayerParams::None(_) => continue,
            };
            map.insert(format!("{name}.weight"), weight);
            if let Some(b) = bias {
                let b = b.val();
                let shape = b.dims().to_vec();
                map.insert(format!("{name}.bias"), (shape, read_f32(b).await?));
            }
        }
        Ok(map)
    }
}

impl Classifier for TrainableNet {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        self.sequential().logits(images)
    }
}
