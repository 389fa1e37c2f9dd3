#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: lints, native tests (CPU + wgpu on Vulkan),
# the core in headless Chromium (WebGPU + CPU backends), and end-to-end tests of the served page.
#
# CI gives this 90 minutes on 2 cores, possibly from an empty build cache, so the two halves
# that compile (native, and wasm with its tools) run side by side, each on its own lane, and the
# end-to-end tests, which time the page, run alone at the end. The README's "Testing" section has
# the cold and warm timings of each step.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
export PATH="$root/web/node_modules/.bin:$PATH"   # wasm-opt for Trunk

# Each step's title, and how long the one before it took (the CI budget is spent per step).
started=$SECONDS
previous=
step() {
  [ -z "$previous" ] || echo "($previous: $((SECONDS - last)) s)"
  previous=$*
  last=$SECONDS
  echo; echo "=== $* ==="
}

# Run a lane (a function) in the background, in a process group of its own, its lines prefixed
# with its name; `finish_lanes` waits for them and fails the run as soon as one fails (the exit
# trap then stops the others, children included).
logs=$(mktemp -d)
cleanup() {
  local pid
  for pid in "$logs"/*.pid; do
    [ -e "$pid" ] && kill -TERM -- "-$(cat "$pid")" 2>/dev/null || true
  done
  rm -rf "$logs"
}
trap cleanup EXIT
lane() {
  local name=$1
  shift
  set -m
  ( set -euo pipefail; "$@" ) > >(sed -u "s/^/[$name] /") 2>&1 &
  echo $! > "$logs/$name.pid"
  set +m
}
finish_lanes() {
  local -A names=()
  local name done rc
  for name in "$@"; do names[$(cat "$logs/$name.pid")]=$name; done
  while [ ${#names[@]} -gt 0 ]; do
    rc=0
    wait -n -p done "${!names[@]}" || rc=$?
    name=${names[$done]}
    unset "names[$done]"
    rm -f "$logs/$name.pid"
    [ "$rc" = 0 ] || { echo "lane '$name' failed (exit $rc)" >&2; exit "$rc"; }
    echo "(lane $name finished at $((SECONDS - started)) s)"
  done
}
# A timed sub-step inside a lane.
timed() {
  local what=$1 t=$SECONDS rc=0
  shift
  echo "--- $what ---"
  "$@" || rc=$?
  echo "--- $what: $((SECONDS - t)) s ---"
  return "$rc"
}

# Native: one compilation both lints and builds. clippy-driver is rustc plus clippy's lints, so
# as the workspace's compiler it checks every target (clippy -D warnings) while building the test
# binaries, instead of a separate `cargo clippy` pass over every dependency (clippy-driver adds
# `--cfg clippy`, which the code never tests, and skips MIR optimisations of the workspace's own
# crates; LLVM still optimises them). The `ci` profile (Cargo.toml) optimises the CPU backend's
# kernels fully and the rest lightly.
native_lane() {
  RUSTC_WORKSPACE_WRAPPER=$(rustup which clippy-driver)
  export RUSTC_WORKSPACE_WRAPPER
  export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"  # cargo clippy -- -D warnings
  export PERTURB_BIN=$CARGO_TARGET_DIR/ci/perturb   # the sharded-run tests' binary
  native_build
  native_tests
}
native_build() {
  # -v prints each compiler command, which the docs step reuses; the console gets the rest.
  local log=$CARGO_TARGET_DIR/ci-build.log
  mkdir -p "$CARGO_TARGET_DIR"   # a cold run has none yet, and tee would fail to open the log
  timed "clippy -D warnings and build (every target)" \
    bash -c "set -o pipefail; cargo test -v --profile ci --workspace --all-targets --no-run 2>&1 \
      | tee '$log' | { grep -Ev '^ +(Running|Fresh) ' || true; }"
  # The library's public API is documented (missing_docs) and its doc links resolve: rustdoc
  # against the dependencies just built (`cargo doc` would type-check them all again).
  local rc=0 strict="RUSTDOCFLAGS=-D warnings"
  timed "docs" env "$strict" python3 scripts/doc-from-build.py "$log" perturb \
    "$CARGO_TARGET_DIR/ci/doc" || rc=$?
  if [ "$rc" = 3 ]; then
    timed "docs (cargo doc: the library was already built)" \
      env "$strict" cargo doc --profile ci --no-deps -p perturb
  elif [ "$rc" != 0 ]; then
    return "$rc"
  fi
}
native_tests() {
  # Tests that need the fetched data or a wgpu adapter (Mesa lavapipe without a GPU) are
  # #[ignore]d with the reason, so a bare `cargo test` says it skipped them; here they all run.
  timed "native tests" cargo test --profile ci --workspace -- --include-ignored
  # A single-node Slurm cluster (started here, stopped at the end): a 4-task job array and a
  # merge job give the unsharded report byte for byte, also after a task is cancelled and
  # requeued. Then the Indexed Job manifest's structure, and its pods' commands run here.
  timed "sharded runs on Slurm and Kubernetes" \
    bash -c 'scripts/slurm/test-cluster.sh && python3 scripts/k8s/test_render.py'
}

# Wasm: the tools, then the core's tests in headless Chromium and the page, from one `web` build
# of the dependencies (Cargo.toml).
wasm_tests() (
  cd web
  CHROMEDRIVER=/usr/bin/chromedriver \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  WASM_BINDGEN_TEST_TIMEOUT=600 \
    cargo test --profile web --target wasm32-unknown-unknown -p perturb-web "$@"
)
page_build() {
  trunk build --release
  local raw gz
  raw=$(stat -c %s dist/*.wasm)
  gz=$(gzip -9 -c dist/*.wasm | wc -c)
  echo "bundle: wasm ${raw} bytes raw, ${gz} bytes gzip"
  # The page's download budget: under 4 MB gzip (it was 5.99 MB; README, "The page").
  if [ "$gz" -ge 4000000 ]; then
    echo "the wasm is ${gz} bytes gzip, over the 4,000,000-byte budget" >&2
    return 1
  fi
}
wasm_lane() {
  timed "tools: wasm-bindgen-cli and Trunk" scripts/setup.sh tools
  timed "wasm tests: build" wasm_tests --no-run
  # The core in headless Chromium (wasm-bindgen-test, WebGPU via SwiftShader and CPU).
  timed "wasm tests: run in headless Chromium" wasm_tests
  timed "build the playground" page_build
}

step "set-up (whatever a fresh machine lacks)"
scripts/setup.sh system

step "format"
cargo fmt --all -- --check

step "build, lint and test: native and wasm lanes side by side"
lane native native_lane
lane wasm wasm_lane
finish_lanes native wasm

step "end-to-end tests against the served page"
port=${PERTURB_E2E_PORT:-8099}
python3 -m http.server "$port" --bind 127.0.0.1 --directory dist >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.2; done
# Two test files at a time, one browser each: the page waits on fetches and timers as much as
# it computes, so two share the 2 cores well.
(cd tests/e2e && PERTURB_URL="http://127.0.0.1:$port/" npm test --silent -- --test-concurrency=2)

echo "(${previous}: $((SECONDS - last)) s)"
echo
echo "all tests passed in $((SECONDS - started)) s"
