#!/usr/bin/env bash
# Install everything Perturb needs on a fresh Debian machine; skip what is already there.
# Only package registries are used (Debian, crates.io, npm, PyPI): no tool downloads its own binaries.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen version in Cargo.lock
TRUNK_VERSION=0.21.14          # newest Trunk that builds on Rust 1.95
say() { echo "setup: $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: headless browser + driver, a software Vulkan driver, Fashion-MNIST, and Slurm
# with munge for the single-node cluster the sharding test starts (scripts/slurm/cluster.sh), and
# brotli for the precompressed bundle (scripts/precompress.sh).
debs=(chromium chromium-driver mesa-vulkan-drivers libvulkan1 dataset-fashion-mnist slurm-wlm munge brotli)
missing=()
for p in "${debs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Rust: the wasm target and the lint tools.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

# Cargo tools at pinned versions.
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION\$"; then
  say "installing trunk $TRUNK_VERSION"
  # Unoptimised and without TLS or the update check (Trunk runs offline here): it only
  # orchestrates cargo, wasm-bindgen and wasm-opt, and builds in about half the time.
  cargo install --force --locked --debug --no-default-features trunk --version "$TRUNK_VERSION"
fi

# npm: wasm-opt (binaryen 132, see web/package.json) for Trunk, and playwright-core, which drives
# Debian's Chromium in the end-to-end tests.
for dir in web tests/e2e; do
  if ! (cd "$dir" && npm ls --silent >/dev/null 2>&1); then
    say "installing npm packages in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --silent)
  fi
done

# Data: full MNIST and Fashion-MNIST (verified by checksum) for training and full evaluations.
scripts/fetch-data.sh
say "done"
