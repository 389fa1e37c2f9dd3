#!/usr/bin/env bash
# Install everything Perturb needs on a fresh Debian machine; skip what is already there.
# Only package registries are used (Debian, crates.io, npm, PyPI): no tool downloads its own binaries.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen version in Cargo.lock
TRUNK_VERSION=0.21.14          # newest Trunk that builds on Rust 1.95
say() { echo "setup: $*"; }
# What to set up: everything (the default); `system` (Debian packages, the Rust target and lint
# tools, npm packages, data); or `tools` (wasm-bindgen-cli and Trunk, compiled from crates.io),
# which scripts/test.sh builds beside the native tests to keep both cores busy.
part=${1:-all}
case "$part" in all|system|tools) ;; *) echo "usage: scripts/setup.sh [all|system|tools]" >&2; exit 2;; esac
wants() { [ "$part" = all ] || [ "$part" = "$1" ]; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: headless browser + driver, a software Vulkan driver, Fashion-MNIST, and Slurm
# with munge for the single-node cluster the sharding test starts (scripts/slurm/cluster.sh), and
# brotli for the precompressed bundle (scripts/precompress.sh).
if wants system; then
debs=(chromium chromium-driver mesa-vulkan-drivers libvulkan1 dataset-fashion-mnist slurm-wlm munge brotli)
missing=()
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in "${debs[@]}"; do installed "$p" || missing+=("$p"); done
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
fi

# Cargo tools at pinned versions.
if wants tools; then
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Opt-level 1: it rewrites one 18 MB module per build, a few seconds either way, and
  # compiles in a fraction of the time.
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION\$"; then
  say "installing trunk $TRUNK_VERSION"
  # Unoptimised, without debug info, TLS or the update check (Trunk runs offline here): it only
  # orchestrates cargo, wasm-bindgen and wasm-opt, and builds in about half the time.
  CARGO_PROFILE_DEV_DEBUG=0 \
    cargo install --force --locked --debug --no-default-features trunk --version "$TRUNK_VERSION"
fi
fi

# npm: wasm-opt (binaryen 132, see web/package.json) for Trunk, and playwright-core, which drives
# Debian's Chromium in the end-to-end tests.
if wants system; then
for dir in web tests/e2e; do
  if ! (cd "$dir" && npm ls --silent >/dev/null 2>&1); then
    say "installing npm packages in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --silent)
  fi
done

# Data: full MNIST and Fashion-MNIST (verified by checksum) for training and full evaluations.
scripts/fetch-data.sh
fi
say "done ($part)"
