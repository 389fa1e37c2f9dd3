"""IBP, CROWN-IBP and CROWN with auto_LiRPA on the shipped default model: the reference figures
for `cargo xtask bench --suite certify`, which runs this script with the same batch, radius and
thread count and prints the ratio. Same task as Perturb's: bounds on the margins
z_label − z_j (a C matrix of the 9 other classes per image) over the L∞ ball of ε = 0.01 around
the first `--batch-size` shipped test images, clipped to [0, 1]. Environment: as
tests/golden/gen_auto_lirpa.py (torch 2.5.1, auto-lirpa 0.3 with its shims, numpy<2, appdirs, tqdm).

    python3 tests/bench/lirpa_bounds.py --threads 2 --batch-size 50

Prints `row<TAB>METHOD<TAB>ms per batch` for each method. auto_LiRPA builds its bounded graph once
(BoundedModule, not timed, as Perturb's model is loaded once); each timed call is compute_bounds.
"""

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from lirpa_shims import BoundedModule, BoundedTensor, PerturbationLpNorm  # noqa: E402
from mnist_small_cnn import load_images, load_model  # noqa: E402


def margin_spec(labels, classes=10):
    """C[i] has a row e_label − e_j for each j ≠ label: lower bounds of the margins."""
    n = len(labels)
    c = torch.zeros(n, classes - 1, classes)
    for i, label in enumerate(labels.tolist()):
        others = [j for j in range(classes) if j != label]
        for row, j in enumerate(others):
            c[i, row, label] = 1.0
            c[i, row, j] = -1.0
    return c


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--eps", type=float, default=0.01)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model()
    images, labels = load_images(args.batch_size)
    bounded = BoundedModule(model, torch.zeros_like(images), device="cpu")
    ptb = PerturbationLpNorm(norm=float("inf"), x_L=(images - args.eps).clamp(0, 1),
                             x_U=(images + args.eps).clamp(0, 1))
    x = BoundedTensor(images, ptb)
    c = margin_spec(labels)
    print(f"auto_LiRPA on PyTorch {torch.__version__} CPU, {args.threads} threads, batch {len(images)}, "
          f"eps {args.eps}")
    for method in ["IBP", "CROWN-IBP", "CROWN"]:
        times = []
        for run in range(args.repeats + 1):
            started = time.perf_counter()
            with torch.no_grad():
                lower, _ = bounded.compute_bounds(x=(x,), method=method, C=c, bound_upper=False)
            elapsed = time.perf_counter() - started
            if run > 0:
                times.append(elapsed)
        median = sorted(times)[len(times) // 2]
        verified = int((lower.min(dim=1).values > 0).sum())
        print(f"row\t{method}\t{median * 1e3:.3f}\t{verified}")


if __name__ == "__main__":
    main()
