#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: lints, native tests (CPU + wgpu on Vulkan),
# the core in headless Chromium (WebGPU + CPU backends), and end-to-end tests of the served page.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Each step's title, and how long the one before it took (the CI budget is spent per step).
started=$SECONDS
previous=
step() {
  [ -z "$previous" ] || echo "($previous: $((SECONDS - last)) s)"
  previous=$*
  last=$SECONDS
  echo; echo "=== $* ==="
}

step "set-up (whatever a fresh machine lacks)"
scripts/setup.sh
export PATH="$root/web/node_modules/.bin:$PATH"   # wasm-opt for Trunk

step "format, lints and docs"
cargo fmt --all -- --check
cargo clippy --release --workspace --all-targets -- -D warnings
# The library's public API is documented (missing_docs) and its doc links resolve.
RUSTDOCFLAGS="-D warnings" cargo doc --release --no-deps -p perturb

step "native tests (CPU and wgpu)"
# Tests that need the fetched data or a wgpu adapter (Mesa lavapipe without a GPU) are #[ignore]d
# with the reason, so a bare `cargo test` says it skipped them; here they all run.
cargo test --release --workspace -- --include-ignored

step "sharded runs on a real Slurm cluster and in Kubernetes manifests"
# A single-node Slurm cluster (started here, stopped at the end): a 4-task job array and a merge
# job give the unsharded report byte for byte, also after a task is cancelled and requeued.
scripts/slurm/test-cluster.sh
# The Indexed Job manifest's structure, and its pods' commands run here.
python3 scripts/k8s/test_render.py

step "core in headless Chromium (wasm-bindgen-test, WebGPU via SwiftShader and CPU)"
(
  cd web
  CHROMEDRIVER=/usr/bin/chromedriver \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  WASM_BINDGEN_TEST_TIMEOUT=600 \
    cargo test --profile web --target wasm32-unknown-unknown -p perturb-web
)

step "build the playground"
# index.html builds with the `web` profile (Cargo.toml), as the wasm tests above did: deps are reused.
trunk build --release
raw=$(stat -c %s dist/*.wasm)
gz=$(gzip -9 -c dist/*.wasm | wc -c)
echo "bundle: wasm ${raw} bytes raw, ${gz} bytes gzip"
# The page's download budget: under 4 MB gzip (it was 5.99 MB; README, "The page").
if [ "$gz" -ge 4000000 ]; then
  echo "the wasm is ${gz} bytes gzip, over the 4,000,000-byte budget" >&2
  exit 1
fi

step "end-to-end tests against the served page"
port=${PERTURB_E2E_PORT:-8099}
python3 -m http.server "$port" --bind 127.0.0.1 --directory dist >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.2; done
(cd tests/e2e && PERTURB_URL="http://127.0.0.1:$port/" npm test --silent)

echo "(${previous}: $((SECONDS - last)) s)"
echo
echo "all tests passed in $((SECONDS - started)) s"
