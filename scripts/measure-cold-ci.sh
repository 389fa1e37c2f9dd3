#!/usr/bin/env bash
# Measure CI from cold, as on a new machine: DESTRUCTIVE for this machine's caches. It removes the
# cargo registry, the CI target directory (~/.cache/perturb), the cargo-installed tools, the wasm32
# target and the set-up's Debian packages, then clones this repository's main into /tmp and runs
# `.ci/run` there with fresh npm and pip caches, printing its wall time. By hand only (README,
# "Testing"); afterwards the machine is warm again for CI.
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
clone=/tmp/perturb-cold-clone
rm -rf ~/.cargo/registry ~/.cache/perturb /tmp/perturb-cold-npm /tmp/perturb-cold-pip "$clone"
for b in trunk wasm-bindgen wasm-bindgen-test-runner wasm2es6js; do rm -f ~/.cargo/bin/$b; done
rm -f ~/.cargo/.crates.toml ~/.cargo/.crates2.json
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq chromium chromium-driver mesa-vulkan-drivers \
  dataset-fashion-mnist slurm-wlm munge brotli >/dev/null 2>&1 || true
rustup target remove wasm32-unknown-unknown >/dev/null 2>&1 || true
git clone -q "$root" "$clone"
cd "$clone" && git log --oneline -1
export CI=true npm_config_cache=/tmp/perturb-cold-npm PIP_CACHE_DIR=/tmp/perturb-cold-pip
start=$(date +%s)
rc=0
bash .ci/run || rc=$?
echo "cold CI: exit $rc in $(( $(date +%s) - start )) s"
