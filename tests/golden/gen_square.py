"""Reference Square Attack statistics from torchattacks on the shipped default model, for
crate/tests/suite/square_golden.rs. Run by hand (not in CI), CPU, float32:

    pip install torch safetensors torchattacks==3.5.1
    python3 tests/golden/gen_square.py > tests/golden/square.json

torchattacks.Square as released (AutoAttack's implementation; margin loss, p_init = 0.8, the
rescaled schedule), one `attack_single_run` per setting on the correctly classified images among
the first COUNT shipped test images, seed 0. Square is a random search, so Perturb cannot
reproduce its draws: what is compared is the statistics of a seeded run -- how many images each
side fools, and the queries they spend (per image: AutoAttack counts the first point and one per
iteration; Perturb's budget also counts the clean classification, so the test adds one to
torchattacks' counts). Nothing is patched.
"""

import json
import sys

import torch
import torchattacks

from mnist_small_cnn import load_model, load_images

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)

COUNT = 100


def main():
    model = load_model()
    images, labels = load_images(COUNT)
    with torch.no_grad():
        correct = model(images).argmax(1) == labels
    x, y = images[correct], labels[correct]
    settings = [("linf", "Linf", 0.1, 1000), ("l2", "L2", 1.5, 1000)]
    out = {
        "generator": "tests/golden/gen_square.py",
        "torch": torch.__version__,
        "torchattacks": torchattacks.__version__,
        "model": "models/mnist-small-cnn.safetensors",
        "count": COUNT,
        "attacked": [int(i) for i in torch.nonzero(correct).reshape(-1)],
        "runs": [],
    }
    for name, norm, eps, queries in settings:
        torch.manual_seed(0)
        attack = torchattacks.Square(model, norm=norm, eps=eps, n_queries=queries, seed=0)
        attack.init_hyperparam(x)
        with torch.no_grad():
            spent, adversarial = attack.attack_single_run(x, y)
            fooled = model(adversarial).argmax(1) != y
        out["runs"].append({
            "name": name,
            "norm": norm.lower(),
            "eps": eps,
            "queries": queries,
            "fooled": [bool(f) for f in fooled],
            "spent": [int(q) for q in spent],
        })
        won = spent[fooled]
        print(f"{name}: fooled {int(fooled.sum())} of {len(y)}, median queries "
              f"{float(won.median()) if len(won) else 0}", file=sys.stderr)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
