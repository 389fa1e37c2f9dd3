#!/usr/bin/env bash
# Trunk's post-build hook: write Brotli (.br) and gzip (.gz) copies of the wasm and the JS glue
# beside them, for static hosts that serve precompressed files (nginx gzip_static/brotli_static,
# Caddy's precompressed, Netlify, S3 with Content-Encoding). The originals stay for the rest.
set -euo pipefail
dir=${TRUNK_STAGING_DIR:?run by trunk build}
[ "${TRUNK_PROFILE:-release}" = release ] || exit 0   # not for debug builds
for f in "$dir"/*.wasm "$dir"/*.js; do
  gzip -9 -k -f "$f"
  brotli -q 11 -f -o "$f.br" "$f"
done
