//! A classifier built from a [`ModelSpec`] and a PyTorch state dict: the bring-your-own path,
//! and the layer-by-layer form that bound propagation walks.

use std::collections::BTreeMap;

use burn::tensor::activation::relu;
use burn::tensor::module::{adaptive_avg_pool2d, avg_pool2d, conv2d, linear, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions, PadMode};
use burn::tensor::{DType, Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};

use super::Classifier;
use super::spec::{LayerSpec, ModelSpec, ParameterRole, Shape};
use crate::error::{Error, Result};
use crate::runtime::rng::SplitMix64;

/// Named host tensors: shape and row-major values, as in a PyTorch state dict.
pub type WeightMap = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// One layer with its parameters on the device, always in inference mode.
#[derive(Debug, Clone)]
pub enum Layer {
    /// Convolution: weight `[out, in / groups, k, k]`, optional bias `[out]`.
    Conv2d {
        /// Kernel.
        weight: Tensor<4>,
        /// Bias.
        bias: Option<Tensor<1>>,
        /// Stride.
        stride: usize,
        /// Zero padding `[top, bottom, left, right]`.
        padding: [usize; 4],
        /// Channel groups.
        groups: usize,
    },
    /// Affine map: weight `[in, out]` (transposed from PyTorch), optional bias `[out]`.
    Linear {
        /// Weight.
        weight: Tensor<2>,
        /// Bias.
        bias: Option<Tensor<1>>,
    },
    /// Batch norm folded to a per-channel `x·scale + shift` with the running statistics.
    BatchNorm {
        /// γ / √(running_var + eps).
        scale: Tensor<1>,
        /// β − running_mean · scale.
        shift: Tensor<1>,
    },
    /// max(x, 0).
    Relu,
    /// min(max(x, 0), 6).
    Relu6,
    /// Max pooling.
    MaxPool2d {
        /// Window.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Padding.
        padding: usize,
    },
    /// Average pooling (padding counted).
    AvgPool2d {
        /// Window.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Padding.
        padding: usize,
    },
    /// Average over PyTorch's adaptive windows to `[height, width]`.
    AdaptiveAvgPool2d {
        /// Output height and width.
        output: [usize; 2],
    },
    /// `(x − mean) / std` per channel.
    Normalize {
        /// Per-channel mean.
        mean: Vec<f32>,
        /// Per-channel deviation.
        std: Vec<f32>,
    },
    /// The identity (dropout in evaluation).
    Identity,
    /// `[n, c, h, w]` to `[n, c·h·w]`.
    Flatten,
    /// Keep the activation for the matching [`Layer::AddSkip`] or [`Layer::ConcatSkip`] (see
    /// [`fold_layers`]).
    Skip,
    /// Add the activation kept by the matching [`Layer::Skip`], through `shortcut` (linear layers;
    /// none for an identity shortcut).
    AddSkip {
        /// The shortcut's layers.
        shortcut: Vec<Layer>,
    },
    /// Concatenate the activation kept by the matching [`Layer::Skip`] before this one, along the
    /// channels.
    ConcatSkip,
}

/// PyTorch's adaptive pooling windows along one axis: `[start, end)` of output `i` of `out` over
/// `size` inputs.
pub fn adaptive_window(i: usize, size: usize, out: usize) -> (usize, usize) {
    ((i * size) / out, ((i + 1) * size).div_ceil(out))
}

/// `x` convolved with zero padding `[top, bottom, left, right]` (asymmetric padding is applied
/// as a separate zero pad, since Burn's convolution pads symmetrically).
pub fn padded_conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: usize,
    [top, bottom, left, right]: [usize; 4],
    groups: usize,
) -> Tensor<4> {
    if top == bottom && left == right {
        return conv2d(
            x,
            weight,
            bias,
            ConvOptions::new([stride; 2], [top, left], [1, 1], groups),
        );
    }
    conv2d(
        x.pad((left, right, top, bottom), PadMode::Constant(0.0)),
        weight,
        bias,
        ConvOptions::new([stride; 2], [0, 0], [1, 1], groups),
    )
}

/// Per-channel `x·scale + shift` for images `[n, c, h, w]` or features `[n, c]`.
fn channel_affine(x: Activation, scale: Tensor<1>, shift: Tensor<1>) -> Activation {
    let c = scale.dims()[0];
    x.map(
        |x| x * scale.clone().reshape([1, c, 1, 1]) + shift.clone().reshape([1, c, 1, 1]),
        |x| x * scale.clone().reshape([1, c]) + shift.clone().reshape([1, c]),
    )
}

impl Layer {
    /// A normalisation's `1 / std` and `−mean / std` as tensors on `device`.
    pub fn normalize_affine(mean: &[f32], std: &[f32], device: &Device) -> (Tensor<1>, Tensor<1>) {
        let c = mean.len();
        let scale: Vec<f32> = std.iter().map(|s| 1.0 / s).collect();
        let shift: Vec<f32> = mean.iter().zip(std).map(|(m, s)| -m / s).collect();
        (
            Tensor::from_data(TensorData::new(scale, [c]), device),
            Tensor::from_data(TensorData::new(shift, [c]), device),
        )
    }
}

/// An activation between layers: images or feature vectors.
#[derive(Debug, Clone)]
pub enum Activation {
    /// `[n, c, h, w]`.
    Image(Tensor<4>),
    /// `[n, features]`.
    Flat(Tensor<2>),
}

impl Activation {
    /// Apply `f` whichever the rank.
    pub fn map(
        self,
        f4: impl FnOnce(Tensor<4>) -> Tensor<4>,
        f2: impl FnOnce(Tensor<2>) -> Tensor<2>,
    ) -> Self {
        match self {
            Activation::Image(x) => Activation::Image(f4(x)),
            Activation::Flat(x) => Activation::Flat(f2(x)),
        }
    }

    /// The device the activation lives on.
    pub fn device(&self) -> Device {
        match self {
            Activation::Image(x) => x.device(),
            Activation::Flat(x) => x.device(),
        }
    }

    /// Images side by side along the channels (`self`'s channels first).
    pub fn concat(self, other: Activation) -> Activation {
        match (self, other) {
            (Activation::Image(a), Activation::Image(b)) => {
                Activation::Image(Tensor::cat(vec![a, b], 1))
            }
            (a, b) => Activation::Flat(Tensor::cat(vec![a.into_flat(), b.into_flat()], 1)),
        }
    }

    /// The feature vectors; images are flattened.
    pub fn into_flat(self) -> Tensor<2> {
        match self {
            Activation::Image(x) => x.flatten(1, 3),
            Activation::Flat(x) => x,
        }
    }
}

impl Layer {
    /// The layer for a spec entry that has no parameters (activations, pooling, flatten,
    /// normalisation, skips whose shortcut has none), else `None`.
    pub fn without_params(spec: &LayerSpec) -> Option<Self> {
        Some(match spec {
            LayerSpec::Relu => Layer::Relu,
            LayerSpec::MaxPool2d {
                kernel_size,
                stride,
                padding,
            } => Layer::MaxPool2d {
                kernel: *kernel_size,
                stride: stride.unwrap_or(*kernel_size),
                padding: *padding,
            },
            LayerSpec::AvgPool2d {
                kernel_size,
                stride,
                padding,
            } => Layer::AvgPool2d {
                kernel: *kernel_size,
                stride: stride.unwrap_or(*kernel_size),
                padding: *padding,
            },
            LayerSpec::Relu6 => Layer::Relu6,
            LayerSpec::AdaptiveAvgPool2d { output_size } => Layer::AdaptiveAvgPool2d {
                output: *output_size,
            },
            LayerSpec::Normalize { mean, std } => Layer::Normalize {
                mean: mean.clone(),
                std: std.clone(),
            },
            LayerSpec::Dropout { .. } => Layer::Identity,
            LayerSpec::Flatten => Layer::Flatten,
            LayerSpec::Skip => Layer::Skip,
            LayerSpec::ConcatSkip => Layer::ConcatSkip,
            LayerSpec::AddSkip { shortcut } => Layer::AddSkip {
                shortcut: shortcut
                    .iter()
                    .map(Layer::without_params)
                    .collect::<Option<Vec<_>>>()?,
            },
            LayerSpec::Conv2d { .. } | LayerSpec::Linear { .. } | LayerSpec::BatchNorm { .. } => {
                return None;
            }
        })
    }

    /// This layer applied to `x`.
    pub fn forward(&self, x: Activation) -> Activation {
        match self {
            Layer::Conv2d {
                weight,
                bias,
                stride,
                padding,
                groups,
            } => match x {
                Activation::Image(x) => Activation::Image(padded_conv2d(
                    x,
                    weight.clone(),
                    bias.clone(),
                    *stride,
                    *padding,
                    *groups,
                )),
                Activation::Flat(_) => unreachable!("the spec's shapes were checked"),
            },
            Layer::Linear { weight, bias } => {
                Activation::Flat(linear(x.into_flat(), weight.clone(), bias.clone()))
            }
            Layer::BatchNorm { scale, shift } => channel_affine(x, scale.clone(), shift.clone()),
            Layer::Normalize { mean, std } => {
                let (scale, shift) = Layer::normalize_affine(mean, std, &x.device());
                channel_affine(x, scale, shift)
            }
            Layer::Relu => x.map(relu, relu),
            Layer::Relu6 => x.map(|x| x.clamp(0.0, 6.0), |x| x.clamp(0.0, 6.0)),
            Layer::AdaptiveAvgPool2d { output } => x.map(
                |x| adaptive_avg_pool2d(x, *output),
                |_| unreachable!("the spec's shapes were checked"),
            ),
            Layer::Identity => x,
            Layer::MaxPool2d {
                kernel,
                stride,
                padding,
            } => x.map(
                |x| {
                    max_pool2d(
                        x,
                        MaxPoolOptions::new([*kernel; 2])
                            .with_stride([*stride; 2])
                            .with_padding([*padding; 2]),
                    )
                },
                |_| unreachable!("the spec's shapes were checked"),
            ),
            Layer::AvgPool2d {
                kernel,
                stride,
                padding,
            } => x.map(
                |x| {
                    avg_pool2d(
                        x,
                        AvgPoolOptions::new([*kernel; 2])
                            .with_stride([*stride; 2])
                            .with_padding([*padding; 2])
                            .with_count_include_pad(true),
                    )
                },
                |_| unreachable!("the spec's shapes were checked"),
            ),
            Layer::Flatten => Activation::Flat(x.into_flat()),
            // The shortcut itself is kept, carried and joined by [`fold_layers`].
            Layer::Skip | Layer::AddSkip { .. } | Layer::ConcatSkip => x,
        }
    }
}

impl std::ops::Add for Activation {
    type Output = Activation;

    fn add(self, other: Activation) -> Activation {
        match (self, other) {
            (Activation::Image(a), Activation::Image(b)) => Activation::Image(a + b),
            (a, b) => Activation::Flat(a.into_flat() + b.into_flat()),
        }
    }
}

/// How one pass over the layers treats its values (activations, interval bounds, …): each
/// layer's step, and the joins of a shortcut.
pub trait Flow<T> {
    /// The value after `layer` (never a skip marker).
    fn step(&mut self, layer: &Layer, x: T) -> T;
    /// A residual join: the block's output plus the shortcut's.
    fn add(&mut self, block: T, shortcut: T) -> T;
    /// A dense join: the kept value's channels, then the block's.
    fn concat(&mut self, kept: T, block: T) -> T;
}

/// Run `layers` over `input`, keeping the value at every [`Layer::Skip`] and joining it back at
/// the matching [`Layer::AddSkip`] (through its shortcut's layers) or [`Layer::ConcatSkip`].
pub fn fold_layers<T: Clone>(layers: &[Layer], input: T, flow: &mut impl Flow<T>) -> T {
    let mut kept = Vec::new();
    let mut x = input;
    for layer in layers {
        x = match layer {
            Layer::Skip => {
                kept.push(x.clone());
                x
            }
            Layer::AddSkip { shortcut } => {
                let saved = kept.pop().expect("the spec's skips were checked");
                let through = shortcut.iter().fold(saved, |s, l| flow.step(l, s));
                flow.add(x, through)
            }
            Layer::ConcatSkip => {
                let saved = kept.pop().expect("the spec's skips were checked");
                flow.concat(saved, x)
            }
            layer => flow.step(layer, x),
        };
    }
    x
}

/// The forward pass as a [`Flow`].
struct Forward;

impl Flow<Activation> for Forward {
    fn step(&mut self, layer: &Layer, x: Activation) -> Activation {
        layer.forward(x)
    }

    fn add(&mut self, block: Activation, shortcut: Activation) -> Activation {
        block + shortcut
    }

    fn concat(&mut self, kept: Activation, block: Activation) -> Activation {
        kept.concat(block)
    }
}

/// A sequential classifier described by a [`ModelSpec`].
#[derive(Debug, Clone)]
pub struct Sequential {
    spec: ModelSpec,
    layers: Vec<Layer>,
}

fn to_f32(view: &safetensors::tensor::TensorView<'_>, name: &str) -> Result<Vec<f32>> {
    let dtype = match view.dtype() {
        Dtype::F32 => DType::F32,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        Dtype::F64 => DType::F64,
        other => {
            return Err(Error::Weights(format!(
                "{name}: element type {other:?} is not a float type"
            )));
        }
    };
    to_f32_values(view.data().to_vec(), view.shape(), dtype, name)
}

/// Little-endian `bytes` of a float tensor of `shape` and `dtype` as f32 values, checked finite.
pub(crate) fn to_f32_values(
    bytes: Vec<u8>,
    shape: &[usize],
    dtype: DType,
    name: &str,
) -> Result<Vec<f32>> {
    let expected = shape.iter().product::<usize>() * dtype.size();
    if bytes.len() != expected {
        return Err(Error::Weights(format!(
            "{name}: {} bytes for a {dtype:?} tensor of shape {shape:?} ({expected} expected)",
            bytes.len()
        )));
    }
    let values = TensorData::from_bytes_vec(bytes, shape.to_vec(), dtype)
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| Error::Weights(format!("{name}: {e:?}")))?;
    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
        return Err(Error::Weights(format!(
            "{name} holds a non-finite value {bad}"
        )));
    }
    Ok(values)
}

/// Parse SafeTensors bytes into host tensors.
pub fn read_safetensors(bytes: &[u8]) -> Result<WeightMap> {
    let tensors = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::Weights(format!("not a SafeTensors file: {e}")))?;
    let mut map = WeightMap::new();
    for (name, view) in tensors.tensors() {
        let values = to_f32(&view, &name)?;
        map.insert(name, (view.shape().to_vec(), values));
    }
    Ok(map)
}

/// How a weights file stores its numbers (computation is f32 either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum StoredDtype {
    /// 32-bit floats: exact.
    #[default]
    F32,
    /// IEEE half floats, rounded to nearest: half the bytes, about 3 significant digits.
    F16,
}

/// Serialise host tensors as SafeTensors (f32).
pub fn write_safetensors(weights: &WeightMap) -> Result<Vec<u8>> {
    write_safetensors_as(weights, StoredDtype::F32)
}

/// Serialise host tensors as SafeTensors stored as `dtype`; a value that does not fit (beyond
/// ±65504 in f16) is an error naming its tensor.
pub fn write_safetensors_as(weights: &WeightMap, dtype: StoredDtype) -> Result<Vec<u8>> {
    let mut bytes: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::with_capacity(weights.len());
    for (name, (shape, values)) in weights {
        let raw = match dtype {
            StoredDtype::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            StoredDtype::F16 => {
                let mut raw = Vec::with_capacity(values.len() * 2);
                for &v in values {
                    let h = burn::tensor::f16::from_f32(v);
                    if !h.is_finite() {
                        return Err(Error::Weights(format!(
                            "{name} holds {v}, which f16 cannot store"
                        )));
                    }
                    raw.extend(h.to_le_bytes());
                }
                raw
            }
        };
        bytes.push((name.clone(), shape.clone(), raw));
    }
    let stored = match dtype {
        StoredDtype::F32 => Dtype::F32,
        StoredDtype::F16 => Dtype::F16,
    };
    let views = bytes
        .iter()
        .map(|(name, shape, raw)| {
            safetensors::tensor::TensorView::new(stored, shape.clone(), raw)
                .map(|view| (name.clone(), view))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Weights(e.to_string()))?;
    safetensors::serialize(views, None).map_err(|e| Error::Weights(e.to_string()))
}

/// Takes tensors out of a [`WeightMap`] by name, checking shapes, and reports what is left.
struct Taker<'a> {
    weights: &'a mut WeightMap,
    device: &'a Device,
}

impl Taker<'_> {
    /// A PyTorch `[out, in]` matrix as a contiguous `[in, out]` tensor (the layout Burn's
    /// `linear` and `nn::Linear` use: a transposed view would take other kernels and round
    /// differently). Transposed on the host: the browser cannot read a tensor back synchronously.
    fn take_transposed(&mut self, name: &str, [rows, cols]: [usize; 2]) -> Result<Tensor<2>> {
        let values = self.take_values(name, &[rows, cols])?;
        let mut transposed = vec![0.0f32; values.len()];
        for r in 0..rows {
            for c in 0..cols {
                transposed[c * rows + r] = values[r * cols + c];
            }
        }
        Ok(Tensor::from_data(
            TensorData::new(transposed, [cols, rows]),
            self.device,
        ))
    }

    /// The values of `name`, which must have `shape`.
    fn take_values(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let (found, values) = self
            .weights
            .remove(name)
            .ok_or_else(|| Error::Weights(format!("missing tensor {name}")))?;
        if found != shape {
            return Err(Error::Weights(format!(
                "{name} has shape {found:?}, the spec needs {shape:?}"
            )));
        }
        Ok(values)
    }

    fn take<const D: usize>(&mut self, name: &str, shape: [usize; D]) -> Result<Tensor<D>> {
        let values = self.take_values(name, &shape)?;
        Ok(Tensor::from_data(
            TensorData::new(values, shape),
            self.device,
        ))
    }
}

/// One layer of a spec (not a skip marker) named `name`, its parameters taken from `taker`, for
/// inputs of `shape`.
fn build(layer: &LayerSpec, name: &str, shape: Shape, taker: &mut Taker<'_>) -> Result<Layer> {
    let p = name;
    Ok(match layer {
        LayerSpec::Conv2d {
            in_channels,
            out_channels,
            kernel_size: k,
            stride,
            padding,
            bias,
            groups,
            ..
        } => {
            let Shape::Image([_, h, w]) = shape else {
                unreachable!("the spec's shapes were checked")
            };
            Layer::Conv2d {
                weight: taker.take(
                    &format!("{p}.weight"),
                    [*out_channels, *in_channels / *groups, *k, *k],
                )?,
                bias: bias
                    .then(|| taker.take(&format!("{p}.bias"), [*out_channels]))
                    .transpose()?,
                stride: *stride,
                padding: padding.sides([h, w], *k, *stride),
                groups: *groups,
            }
        }
        LayerSpec::Linear {
            in_features,
            out_features,
            bias,
            ..
        } => Layer::Linear {
            weight: taker.take_transposed(&format!("{p}.weight"), [*out_features, *in_features])?,
            bias: bias
                .then(|| taker.take(&format!("{p}.bias"), [*out_features]))
                .transpose()?,
        },
        LayerSpec::BatchNorm {
            num_features, eps, ..
        } => {
            let c = [*num_features];
            let gamma = taker.take(&format!("{p}.weight"), c)?;
            let beta = taker.take(&format!("{p}.bias"), c)?;
            let mean = taker.take(&format!("{p}.running_mean"), c)?;
            let var = taker.take(&format!("{p}.running_var"), c)?;
            taker.weights.remove(&format!("{p}.num_batches_tracked"));
            let scale = gamma / (var + *eps as f32).sqrt();
            Layer::BatchNorm {
                shift: beta - mean * scale.clone(),
                scale,
            }
        }
        stateless => {
            Layer::without_params(stateless).expect("every layer with parameters is matched above")
        }
    })
}

impl Sequential {
    /// Build `spec` with weights from SafeTensors bytes in PyTorch names and layouts. Every tensor
    /// the spec needs must be there with its shape, and nothing else may be left over (BatchNorm's
    /// `num_batches_tracked` excepted).
    pub fn from_safetensors(spec: ModelSpec, bytes: &[u8], device: &Device) -> Result<Self> {
        Self::from_weights(spec, read_safetensors(bytes)?, device)
    }

    /// Build `spec` with weights from host tensors in PyTorch names and layouts.
    pub fn from_weights(spec: ModelSpec, mut weights: WeightMap, device: &Device) -> Result<Self> {
        let inputs = spec.input_shapes()?;
        let partners = spec.skip_partners();
        let mut taker = Taker {
            weights: &mut weights,
            device,
        };
        let mut layers = Vec::with_capacity(spec.layers.len());
        for (i, layer) in spec.layers.iter().enumerate() {
            layers.push(match layer {
                LayerSpec::AddSkip { shortcut } => {
                    let mut shape = inputs[partners[i].expect("the spec's skips were checked")];
                    let mut built = Vec::with_capacity(shortcut.len());
                    for (j, l) in shortcut.iter().enumerate() {
                        let name = spec.shortcut_layer_name(i, j);
                        built.push(build(l, &name, shape, &mut taker)?);
                        shape = super::spec::next_shape(l, shape)
                            .expect("the spec's shortcuts were checked");
                    }
                    Layer::AddSkip { shortcut: built }
                }
                layer => build(layer, &spec.layer_name(i), inputs[i], &mut taker)?,
            });
        }
        if !weights.is_empty() {
            let left: Vec<&str> = weights.keys().map(String::as_str).collect();
            return Err(Error::Weights(format!(
                "tensors not in this architecture: {}",
                left.join(", ")
            )));
        }
        Ok(Self { spec, layers })
    }

    /// `spec` with already-built layers, one per spec entry (shapes as [`Self::from_weights`]
    /// would make them).
    pub(crate) fn from_parts(spec: ModelSpec, layers: Vec<Layer>) -> Self {
        debug_assert_eq!(spec.layers.len(), layers.len());
        Self { spec, layers }
    }

    /// Random weights for `spec` (PyTorch's default uniform ±1/√fan_in; batch norm with random
    /// positive statistics), deterministic in `seed`. For tests and untrained baselines.
    pub fn random_weights(spec: &ModelSpec, seed: u64) -> Result<WeightMap> {
        let mut rng = SplitMix64::new(seed);
        let mut uniform = |n: usize, bound: f32| -> Vec<f32> {
            (0..n)
                .map(|_| (2.0 * rng.next_f32() - 1.0) * bound)
                .collect()
        };
        let shift = |v: Vec<f32>, by: f32| v.into_iter().map(|x| x + by).collect();
        let mut map = WeightMap::new();
        for p in spec.parameters()? {
            let n = p.shape.iter().product();
            let values = match p.role {
                ParameterRole::Weight { fan_in } | ParameterRole::Bias { fan_in } => {
                    uniform(n, 1.0 / (fan_in as f32).sqrt())
                }
                ParameterRole::NormWeight | ParameterRole::NormVariance => {
                    shift(uniform(n, 0.5), 1.0)
                }
                ParameterRole::NormBias | ParameterRole::NormMean => uniform(n, 0.5),
            };
            map.insert(p.name, (p.shape, values));
        }
        Ok(map)
    }

    /// The spec this model was built from.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The layers, first to last.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The penultimate representation `[n, features]`: the input of the last affine layer,
    /// flattened (what poisoning detectors cluster and feature collision matches).
    pub fn features(&self, images: Tensor<4>) -> Result<Tensor<2>> {
        let last = self
            .layers
            .iter()
            .rposition(|l| matches!(l, Layer::Linear { .. }))
            .ok_or_else(|| Error::InvalidArgument("the model has no final linear layer".into()))?;
        Ok(fold_layers(
            &self.layers[..last],
            Activation::Image(images),
            &mut Forward,
        )
        .into_flat())
    }
}

impl Classifier for Sequential {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        fold_layers(&self.layers, Activation::Image(images), &mut Forward).into_flat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_and_batch_norm_compute_by_hand() {
        // y = BN(W x + b) with W = [[1, 2], [3, 4]], b = [1, -1]; BN γ=2, β=1, mean=1, var=3, eps=1.
        let spec = ModelSpec::from_json(
            r#"{"input": [1, 1, 2], "layers": [{"type": "flatten"},
            {"type": "linear", "in_features": 2, "out_features": 2},
            {"type": "batch_norm", "num_features": 2, "eps": 1.0}]}"#,
        )
        .unwrap();
        let mut w = WeightMap::new();
        w.insert("1.weight".into(), (vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]));
        w.insert("1.bias".into(), (vec![2], vec![1.0, -1.0]));
        for (n, v) in [
            ("weight", 2.0),
            ("bias", 1.0),
            ("running_mean", 1.0),
            ("running_var", 3.0),
        ] {
            w.insert(format!("2.{n}"), (vec![2], vec![v, v]));
        }
        w.insert("2.num_batches_tracked".into(), (vec![], vec![0.0]));
        let device = Device::flex();
        let bytes = write_safetensors(&w).unwrap();
        let model = Sequential::from_safetensors(spec, &bytes, &device).unwrap();
        let x = Tensor::<4>::from_data(TensorData::new(vec![1.0f32, 1.0], [1, 1, 1, 2]), &device);
        let y = model.logits(x).into_data().try_into_vec::<f32>().unwrap();
        // Wx+b = [4, 6]; (v − 1)·2/2 + 1 = [4, 6].
        assert_eq!(y, vec![4.0, 6.0]);
    }

    #[test]
    fn batch_norm_stays_in_eval_mode_so_samples_do_not_depend_on_their_batch() {
        let spec = ModelSpec::from_json(
            r#"{"input": [1, 6, 6], "layers": [
            {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3},
            {"type": "batch_norm", "num_features": 4}, {"type": "relu"},
            {"type": "avg_pool2d", "kernel_size": 2}, {"type": "flatten"},
            {"type": "linear", "in_features": 16, "out_features": 3},
            {"type": "batch_norm", "num_features": 3}]}"#,
        )
        .unwrap();
        let device = Device::flex();
        let weights = Sequential::random_weights(&spec, 4).unwrap();
        let model = Sequential::from_weights(spec, weights, &device).unwrap();
        let mut rng = SplitMix64::new(8);
        let x: Vec<f32> = (0..5 * 36).map(|_| rng.next_f32()).collect();
        let batch = Tensor::<4>::from_data(TensorData::new(x, [5, 1, 6, 6]), &device);
        let together = model
            .logits(batch.clone())
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        for i in 0..5 {
            let alone = model
                .logits(batch.clone().narrow(0, i, 1))
                .into_data()
                .try_into_vec::<f32>()
                .unwrap();
            for (a, b) in alone.iter().zip(&together[i * 3..(i + 1) * 3]) {
                assert!(
                    (a - b).abs() < 1e-6,
                    "sample {i}: {a} alone vs {b} in the batch"
                );
            }
        }
    }

    #[test]
    fn wrong_or_extra_or_missing_tensors_are_refused() {
        let device = Device::flex();
        let spec = ModelSpec::small_cnn();
        let good = Sequential::random_weights(&spec, 1).unwrap();
        assert!(Sequential::from_weights(spec.clone(), good.clone(), &device).is_ok());

        let mut missing = good.clone();
        missing.remove("fc2.bias");
        let err = Sequential::from_weights(spec.clone(), missing, &device)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing tensor fc2.bias"), "{err}");

        let mut extra = good.clone();
        extra.insert("head.weight".into(), (vec![1], vec![0.0]));
        let err = Sequential::from_weights(spec.clone(), extra, &device)
            .unwrap_err()
            .to_string();
        assert!(err.contains("head.weight"), "{err}");

        let mut wrong = good;
        wrong.insert("fc1.weight".into(), (vec![400, 64], vec![0.0; 400 * 64]));
        let err = Sequential::from_weights(spec.clone(), wrong, &device)
            .unwrap_err()
            .to_string();
        assert!(err.contains("fc1.weight has shape [400, 64]"), "{err}");

        let err = Sequential::from_safetensors(spec, b"not a file at all", &device).unwrap_err();
        assert!(err.to_string().contains("SafeTensors"), "{err}");
    }
}
