#!/usr/bin/env bash
# Set up (if needed), build and serve the playground with the default model on http://127.0.0.1:8080
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
export PATH="$root/web/node_modules/.bin:$PATH"   # wasm-opt for Trunk
exec trunk serve --release "$@"
