"""PGD-40 (L∞, ε = 0.3, batch 256) with torchattacks on PyTorch-CPU, on the shipped default model:
the reference figure for `cargo xtask bench`. Run by hand where torch is installed:

    python3 tests/bench/torch_pgd.py --threads 2

With --breakdown it also prints, as `row<TAB>label<TAB>ms`, each layer's forward time and the time
of its forward plus the gradient with respect to its input (torch.autograd.grad for a fixed random
upstream gradient), the model's forward and forward+input gradient (cross-entropy summed over the
batch): the rows `cargo xtask bench --breakdown` prints beside its own.
"""

import argparse
import os
import sys
import time

import torch
import torchattacks
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from mnist_small_cnn import load_model, load_images  # noqa: E402


def median_ms(repeats, f):
    f()
    f()
    times = []
    for _ in range(max(repeats, 1)):
        started = time.perf_counter()
        f()
        times.append((time.perf_counter() - started) * 1e3)
    return sorted(times)[len(times) // 2]


def breakdown(model, images, labels, repeats):
    """Rows labelled as Perturb labels them: index and spec type of each layer of SmallCnn."""
    layers = [
        ("conv2d", model.conv1), ("relu", torch.relu), ("max_pool2d", lambda x: nn.functional.max_pool2d(x, 2)),
        ("conv2d", model.conv2), ("relu", torch.relu), ("max_pool2d", lambda x: nn.functional.max_pool2d(x, 2)),
        ("flatten", lambda x: x.flatten(1)), ("linear", model.fc1), ("relu", torch.relu), ("linear", model.fc2),
    ]
    for p in model.parameters():
        p.requires_grad_(False)  # constants, as in an attack (Perturb's parameters are too)
    rows = []
    x = images
    for i, (kind, layer) in enumerate(layers):
        label = f"{i}:{kind}"
        with torch.no_grad():
            rows.append((f"layer {label} forward", median_ms(repeats, lambda: layer(x))))
            out = layer(x)
        upstream = torch.rand_like(out)

        def forward_backward():
            xi = x.detach().requires_grad_(True)
            torch.autograd.grad(layer(xi), xi, grad_outputs=upstream)

        rows.append((f"layer {label} forward+input grad", median_ms(repeats, forward_backward)))
        x = out

    def model_forward():
        with torch.no_grad():
            model(images)

    def model_gradient():
        xi = images.detach().requires_grad_(True)
        loss = nn.functional.cross_entropy(model(xi), labels, reduction="sum")
        torch.autograd.grad(loss, xi)

    xi = images.detach().requires_grad_(True)
    logits = model(xi)
    grad = torch.autograd.grad(nn.functional.cross_entropy(logits, labels, reduction="sum"), xi)[0]
    logits = logits.detach()

    def projection():  # torchattacks.PGD's update, line for line
        adv = images + 0.0075 * grad.sign()
        delta = torch.clamp(adv - images, min=-0.3, max=0.3)
        torch.clamp(images + delta, min=0, max=1).detach()

    def success():
        (logits.argmax(1) != labels).float().mean().item()

    rows.append(("sign, step and projection", median_ms(repeats, projection)))
    rows.append(("success check and its mean read back", median_ms(repeats, success)))
    rows.append(("model forward", median_ms(repeats, model_forward)))
    rows.append(("model forward+input grad", median_ms(repeats, model_gradient)))
    for label, ms in rows:
        print(f"row\t{label}\t{ms:.4f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--breakdown", action="store_true")
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
    if args.breakdown:
        breakdown(model, images, labels, max(args.repeats, 5))


if __name__ == "__main__":
    main()
