#!/usr/bin/env bash
# Measure the shipped MNIST zoo side by side (not part of CI; ~40 min on 2 CPU cores):
# clean and PGD-40 robust accuracy at ε = 0.1 and 0.3 on the full 10k test split for every model,
# IBP-verified accuracy where it applies, and the transfer success matrix (500 test images,
# PGD-20 at ε = 0.2 on each source, success = a correctly classified image the target then gets wrong).
# Writes models/report/*.json; scripts/zoo_table.py turns them into the tables of models/README.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/fetch-data.sh >/dev/null
# PERTURB_BIN: an already built CLI (else it is built here).
bin=${PERTURB_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release -q -p perturb-cli --bin perturb
  bin=${CARGO_TARGET_DIR:-target}/release/perturb
fi
out=models/report
mkdir -p "$out"

mnist=(mnist-small-cnn mnist-lenet5 mnist-mlp mnist-resnet-small mnist-mobilenet-small
       mnist-small-cnn-noise0.25 mnist-small-cnn-noise0.5 mnist-small-cnn-pgd0.3
       mnist-strided-cnn-ibp0.1)
for extra in mnist-lenet5-pgd0.3 mnist-strided-cnn-ibp0.3 mnist-wide-cnn-ibp0.3; do
  [ -f "models/$extra.json" ] && mnist+=("$extra")
done

arch_of() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["architecture"])' "models/$1.json"
}

for m in "${mnist[@]}"; do
  arch=$(arch_of "$m")
  for eps in 0.1 0.3; do
    file="$out/eval-$m-eps$eps.json"
    [ -s "$file" ] && continue
    echo "zoo-report: $m at ε=$eps"
    "$bin" eval --arch "$arch" --weights "models/$m.safetensors" --data-dir data \
      --eps "$eps" --pgd-steps 40 > "$file.tmp"
    mv "$file.tmp" "$file"
  done
done

models=""
for m in "${mnist[@]}"; do models+="models/$m.safetensors=$(arch_of "$m"),"; done
echo "zoo-report: transfer matrix"
"$bin" transfer --models "${models%,}" --data-dir data --count 500 --eps 0.2 --steps 20 \
  > "$out/transfer-mnist.json"
python3 scripts/zoo_table.py
