#!/usr/bin/env bash
# The black-box and AutoAttack figures of the README (measured once; not a test): on the first
# N shipped MNIST test images at L∞ ε = 0.3, PGD-40 beside AutoAttack (standard) for the zoo's
# PGD- and IBP-trained models, and Square (5,000 queries) with its queries to success on the
# standard CNN and the PGD-trained one. Writes target/black-box/*.json and prints a summary.
#
#   scripts/measure-black-box.sh [N]      # N = 1000 by default
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
n=${1:-1000}
out=target/black-box
mkdir -p "$out"
# The whole workspace, as the tests build it, so the artifacts are shared.
cargo build --release --workspace --all-targets --quiet
bin=${CARGO_TARGET_DIR:-target}/release/perturb

run() { # name, args…
  local name=$1
  shift
  local start=$SECONDS
  "$bin" "$@" --count "$n" --json >"$out/$name.json"
  echo "$name: $((SECONDS - start)) s"
}

for model in mnist-small-cnn-pgd0.3 mnist-strided-cnn-ibp0.3; do
  run "$model-pgd40" attack --model "$model" --eps 0.3 --steps 40
  run "$model-autoattack" autoattack --model "$model" --eps 0.3
done
for model in mnist-small-cnn mnist-small-cnn-pgd0.3; do
  run "$model-square" attack --model "$model" --attack square --eps 0.3 --queries 5000
done

python3 - "$out" <<'EOF'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
def load(name):
    return json.loads((out / f"{name}.json").read_text())
for model in ["mnist-small-cnn-pgd0.3", "mnist-strided-cnn-ibp0.3"]:
    pgd = load(f"{model}-pgd40")
    aa = load(f"{model}-autoattack")
    members = ", ".join(f"{m['attack']} {m['robust_accuracy']:.1%}" for m in aa["members"])
    print(f"{model}: clean {aa['clean_accuracy']:.1%}, PGD-40 {pgd['robust_accuracy']:.1%}, "
          f"AutoAttack {aa['robust_accuracy']:.1%} (gap {pgd['robust_accuracy'] - aa['robust_accuracy']:+.1%}); {members}")
for model in ["mnist-small-cnn", "mnist-small-cnn-pgd0.3"]:
    sq = load(f"{model}-square")["per_epsilon"][0]
    print(f"{model}: Square (5,000 queries) robust {sq['robust_accuracy']:.1%}, success {sq['attack_success_rate']:.1%}, "
          f"median queries to success {sq['median_queries']}, mean queries {sq['mean_queries']:.0f}")
EOF
