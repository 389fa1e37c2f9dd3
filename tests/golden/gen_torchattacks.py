"""Reference adversarials from torchattacks on the shipped default model, for
crate/tests/torchattacks_golden.rs. Run by hand (not in CI), CPU, float32:

    pip install torch safetensors torchattacks==3.5.1
    python3 tests/golden/gen_torchattacks.py > tests/golden/torchattacks.json

FGSM, PGD (L∞, no random start) and PGD-L2 are torchattacks as released. C&W is torchattacks.CW
with two documented fixes that Perturb makes on purpose: the margin excludes the class by an offset
(torchattacks' `max(one_hot * outputs)` is wrong whenever the true logit is negative), and pixels go
to tanh space scaled by 0.999999 as Carlini & Wagner do (torchattacks clamps to ±1, so atanh gives
±inf and pixels at 0 or 1 can never move).
"""

import json
import sys

import torch
import torchattacks

from mnist_small_cnn import load_model, load_images

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)


class FixedCW(torchattacks.CW):
    def f(self, outputs, labels):
        one_hot = torch.eye(outputs.shape[1], device=outputs.device)[labels]
        other = torch.max(outputs - one_hot * 1e9, dim=1)[0]
        real = torch.sum(outputs * one_hot, dim=1)
        if self.targeted:
            return torch.clamp(other - real, min=-self.kappa)
        return torch.clamp(real - other, min=-self.kappa)

    def inverse_tanh_space(self, x):
        return self.atanh((x * 2 - 1) * 0.999999)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1)]


def main():
    model = load_model()
    images, labels = load_images(8)
    attacks = [
        ("fgsm", {"eps": 0.1}, torchattacks.FGSM(model, eps=0.1), 8),
        ("pgd-linf", {"eps": 0.1, "alpha": 0.01, "steps": 10},
         torchattacks.PGD(model, eps=0.1, alpha=0.01, steps=10, random_start=False), 8),
        ("pgd-l2", {"eps": 1.0, "alpha": 0.2, "steps": 10},
         torchattacks.PGDL2(model, eps=1.0, alpha=0.2, steps=10, random_start=False), 8),
        ("cw-l2", {"c": 10.0, "kappa": 0.0, "steps": 100, "lr": 0.05},
         FixedCW(model, c=10.0, kappa=0.0, steps=100, lr=0.05), 4),
    ]
    out = {
        "generator": "tests/golden/gen_torchattacks.py",
        "torch": torch.__version__,
        "torchattacks": torchattacks.__version__,
        "model": "models/mnist-small-cnn.safetensors",
        "labels": [int(l) for l in labels],
        "attacks": [],
    }
    for name, params, attack, count in attacks:
        adv = attack(images[:count], labels[:count])
        with torch.no_grad():
            predicted = model(adv).argmax(1)
        out["attacks"].append({
            "name": name,
            "params": params,
            "count": count,
            "adversarial": flat(adv),
            "predicted": [int(p) for p in predicted],
        })
        print(f"{name}: predicted {predicted.tolist()}", file=sys.stderr)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
