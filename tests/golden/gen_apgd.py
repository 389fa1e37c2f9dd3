"""Reference APGD runs from torchattacks on the shipped default model, for
crate/tests/suite/apgd_golden.rs. Run by hand (not in CI), CPU, float32:

    pip install torch safetensors torchattacks==3.5.1
    python3 tests/golden/gen_apgd.py > tests/golden/apgd.json

torchattacks.APGD (CE and DLR, L-inf and L2) and torchattacks.APGDT (targeted DLR, aimed at the
second most likely class) as released, one `attack_single_run` each. One patch, so the run is
deterministic and both sides start from the same point: the random start's draw `t`
(`torch.rand` for L-inf, `torch.randn` for L2) is drawn here from a seeded generator and handed to
the attack through a patched `torch.rand`/`torch.randn`; the start point it produces is written
to the golden file, and Perturb starts from it (`apgd_from`). Everything after the start -- the
momentum, the checkpoints, the step-size halving, the best-point bookkeeping -- is torchattacks'.
"""

import json
import sys

import torch
import torchattacks

from mnist_small_cnn import load_model, load_images

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)

COUNT = 12


def flat(t):
    return [float(f"{float(v):.9g}") for v in t.detach().reshape(-1)]


def run(attack, images, labels, draw):
    """One attack_single_run with the random start's draw fixed to `draw`."""
    real_rand, real_randn = torch.rand, torch.randn
    torch.rand = lambda *a, **k: (draw + 1) / 2  # so that 2 * rand - 1 == draw
    torch.randn = lambda *a, **k: draw
    try:
        x_best, acc, loss_best, x_best_adv = attack.attack_single_run(images, labels)
    finally:
        torch.rand, torch.randn = real_rand, real_randn
    adversarial = torch.where(acc.reshape(-1, 1, 1, 1), x_best, x_best_adv)
    with torch.no_grad():
        predicted = attack.get_logits(adversarial).argmax(1)
    return {
        "fooled": [bool(not a) for a in acc],
        "loss_best": flat(loss_best),
        "adversarial": flat(adversarial),
        "predicted": [int(p) for p in predicted],
    }


def start_point(images, eps, norm, draw):
    """The start torchattacks computes from `draw` (the same formula, evaluated here)."""
    if norm == "Linf":
        scale = draw.reshape(draw.shape[0], -1).abs().max(dim=1)[0].reshape(-1, 1, 1, 1)
    else:
        scale = (draw ** 2).sum(dim=(1, 2, 3), keepdim=True).sqrt() + 1e-12
    return (images + eps * draw / scale).clamp(0.0, 1.0)


def main():
    model = load_model()
    images, labels = load_images(COUNT)
    generator = torch.Generator().manual_seed(0)
    runs = [
        ("apgd-ce-linf", "Linf", 0.1, "ce", False),
        ("apgd-dlr-linf", "Linf", 0.1, "dlr", False),
        ("apgd-ce-l2", "L2", 1.5, "ce", False),
        ("apgdt-dlr-linf", "Linf", 0.1, "dlr", True),
    ]
    out = {
        "generator": "tests/golden/gen_apgd.py",
        "torch": torch.__version__,
        "torchattacks": torchattacks.__version__,
        "model": "models/mnist-small-cnn.safetensors",
        "labels": [int(l) for l in labels],
        "steps": 20,
        "runs": [],
    }
    for name, norm, eps, loss, targeted in runs:
        if norm == "Linf":
            draw = 2 * torch.rand(images.shape, generator=generator) - 1
        else:
            draw = torch.randn(images.shape, generator=generator)
        if targeted:
            attack = torchattacks.APGDT(model, norm=norm, eps=eps, steps=20, n_classes=10)
            attack.target_class = 2
        else:
            attack = torchattacks.APGD(model, norm=norm, eps=eps, steps=20, loss=loss)
        result = run(attack, images, labels, draw)
        result.update(
            name=name,
            norm=norm.lower(),
            eps=eps,
            loss=loss,
            aim=2 if targeted else None,
            start=flat(start_point(images, eps, norm, draw)),
        )
        out["runs"].append(result)
        print(name, "fooled", sum(result["fooled"]), "of", COUNT, file=sys.stderr)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
