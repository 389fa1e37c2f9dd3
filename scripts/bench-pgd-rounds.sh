#!/usr/bin/env bash
# CPU PGD-40 against torchattacks on PyTorch-CPU in interleaved rounds: each round is one
# `cargo xtask bench` run (Perturb, then PyTorch, same weights, images and thread count), five
# rounds per batch size, printing each round's ratio. The machines this project runs on vary by
# ±30% between runs, so the README reports the median round. Needs a Python with torch and
# torchattacks (PERTURB_TORCH_PYTHON, default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PERTURB_TORCH_PYTHON:-python3}
cargo build --release -p xtask
for batch in ${BATCHES:-256 64 16 1}; do
  for round in 1 2 3 4 5; do
    target/release/xtask bench --device cpu --torch-python "$python" --repeats 5 --batch-size "$batch" \
      2>/dev/null | grep "×" | sed "s/^/batch $batch round $round: /"
  done
done
