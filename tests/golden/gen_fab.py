"""Reference FAB runs from torchattacks on the shipped default model, for
crate/tests/suite/fab_golden.rs. Run by hand (not in CI), CPU, float32:

    pip install torch safetensors torchattacks==3.5.1
    python3 tests/golden/gen_fab.py > tests/golden/fab.json

torchattacks.FAB as released, untargeted (L-inf and L2) and multi-targeted (FAB-T, L-inf, the 3
most likely wrong classes), one restart each, which starts at the clean image: no random draw, so
the runs are deterministic and Perturb runs the same schedule. Nothing is patched. The budget eps
is large (L-inf 0.3, L2 3.0), so nearly every image is fooled and the golden holds FAB's minimum
norm per image: torchattacks returns only the points, and the norms here are recomputed from them
(an image returned clean was not fooled within eps).
"""

import json
import sys

import torch
import torchattacks

from mnist_small_cnn import load_model, load_images

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)

COUNT = 24
STEPS = 20


def norm(delta, kind):
    flat = delta.reshape(delta.shape[0], -1)
    return flat.abs().max(dim=1)[0] if kind == "Linf" else (flat ** 2).sum(dim=1).sqrt()


def main():
    model = load_model()
    images, labels = load_images(COUNT)
    runs = [
        ("fab-linf", "Linf", 0.3, 0),
        ("fab-l2", "L2", 3.0, 0),
        ("fab-t-linf", "Linf", 0.3, 3),
    ]
    out = {
        "generator": "tests/golden/gen_fab.py",
        "torch": torch.__version__,
        "torchattacks": torchattacks.__version__,
        "model": "models/mnist-small-cnn.safetensors",
        "labels": [int(l) for l in labels],
        "steps": STEPS,
        "runs": [],
    }
    with torch.no_grad():
        clean_correct = model(images).argmax(1) == labels
    for name, kind, eps, targets in runs:
        attack = torchattacks.FAB(
            model, norm=kind, eps=eps, steps=STEPS, n_restarts=1,
            multi_targeted=targets > 0, n_classes=targets + 1 if targets else 10)
        adversarial = attack(images, labels)
        with torch.no_grad():
            predicted = model(adversarial).argmax(1)
        fooled = (predicted != labels) & clean_correct
        distance = norm(adversarial - images, kind)
        out["runs"].append({
            "name": name,
            "norm": kind.lower(),
            "eps": eps,
            "targets": targets,
            "fooled": [bool(f) for f in fooled],
            "min_norm": [float(d) if f else None for d, f in zip(distance, fooled)],
            "predicted": [int(p) for p in predicted],
        })
        print(name, "fooled", int(fooled.sum()), "of", COUNT, file=sys.stderr)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
