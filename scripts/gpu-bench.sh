#!/usr/bin/env bash
# On a machine with a GPU: Perturb's wgpu backend (Vulkan) on the default MNIST model — PGD-40 at
# batch 1, 16, 64 and 256, IBP / CROWN-IBP / CROWN per batch of 50 and smoothing CERTIFY with
# n = 10,000 per image — and ResNet-18 at 224×224 beside torchvision's on PyTorch CUDA in the same
# run: forward and forward+backward per image at batch 1, 16 and 64, and PGD-10 images/s at batch
# 64. Each line it prints is one row of the table. Run as is from the repository root:
#   scripts/gpu-bench.sh            (needs cargo, or a target/release/xtask built elsewhere and
#                                    carried along; PyTorch with CUDA for the reference, if present)
# Burn's CUDA runtime is not built here: Burn 0.22.1's `cuda` feature needs the CUDA toolkit at
# build time, which the project's machines do not carry; wgpu is what the page uses.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PERTURB_TORCH_PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
if command -v cargo >/dev/null; then
  cargo build --release -p xtask
elif [ ! -x target/release/xtask ]; then
  echo "gpu-bench: needs cargo, or target/release/xtask built beforehand (cargo build --release -p xtask)" >&2
  exit 1
fi
echo "== Perturb on wgpu: PGD-40 on the default MNIST model =="
for batch in 1 16 64 256; do
  target/release/xtask bench --device wgpu --batch-size "$batch" --repeats 5 --torch-python none \
    2>/dev/null | grep "per step"
done
echo "== Perturb on wgpu: bounds per batch of 50 and CERTIFY n = 10,000 =="
target/release/xtask bench --suite certify --device wgpu --batch-size 50 --samples 10000 \
  --repeats 3 --torch-python none
echo "== Perturb on wgpu: ResNet-18 (PyTorch-CPU beside it only when CUDA is absent) =="
target/release/xtask bench --suite resnet18 --device wgpu --batches 1,16,64 --pgd-batch 64 \
  --repeats 5 --torch-python none
echo "== PyTorch on CUDA =="
if "$python" -c "import torch, torchvision; assert torch.cuda.is_available()" 2>/dev/null; then
  "$python" tests/bench/torch_resnet18.py --device cuda --batches 1,16,64 --pgd-batch 64 --repeats 5
else
  echo "PyTorch with CUDA not found ($python): reference skipped"
fi
