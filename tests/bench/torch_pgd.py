"""PGD-40 (L∞, ε = 0.3, batch 256) with torchattacks on PyTorch-CPU, on the shipped default model:
the reference figure for `cargo xtask bench`. Run by hand where torch is installed:

    python3 tests/bench/torch_pgd.py --threads 2
"""

import argparse
import os
import sys
import time

import torch
import torchattacks

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from mnist_small_cnn import load_model, load_images  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model()
    images, labels = load_images(args.batch_size)
    attack = torchattacks.PGD(model, eps=0.3, alpha=2.5 * 0.3 / args.steps, steps=args.steps, random_start=True)
    times = []
    for run in range(args.repeats + 1):
        started = time.perf_counter()
        attack(images, labels)
        elapsed = time.perf_counter() - started
        if run > 0:
            times.append(elapsed)
    median = sorted(times)[len(times) // 2]
    print(f"torchattacks PGD-{args.steps} L∞ batch {len(images)} on PyTorch {torch.__version__} CPU, "
          f"{args.threads} threads: median {median:.3f} s per attack, {median * 1e3 / args.steps:.2f} ms per step")


if __name__ == "__main__":
    main()
