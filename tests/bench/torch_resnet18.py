"""PyTorch-CPU side of `cargo xtask bench --suite resnet18`: torchvision's ResNet-18 (untrained
weights: speed does not depend on their values) at 224×224, forward and forward+backward (the
input gradient of the cross-entropy, what an attack step needs) per image at the batch sizes
given, after one warm-up; prints one JSON object. Run by the bench with the thread count Burn
uses, never by the tests.

    python3 tests/bench/torch_resnet18.py --batches 1,16,64 --repeats 3 --threads 2
"""

import argparse
import json
import time

import torch
import torchvision


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batches", default="1,16,64")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--pgd-batch", type=int, default=0, help="also time PGD-10 at this batch")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    model = torchvision.models.resnet18().eval().to(dev)
    out = {"torch": torch.__version__, "threads": args.threads, "device": args.device,
           "batches": {}}
    for n in [int(b) for b in args.batches.split(",")]:
        x = torch.rand(n, 3, 224, 224, device=dev)
        y = torch.zeros(n, dtype=torch.long, device=dev)

        def forward():
            with torch.no_grad():
                model(x)

        def backward():
            xi = x.clone().requires_grad_(True)
            loss = torch.nn.functional.cross_entropy(model(xi), y)
            torch.autograd.grad(loss, xi)

        timings = {}
        for name, f in [("forward", forward), ("backward", backward)]:
            f()
            sync()
            start = time.perf_counter()
            for _ in range(args.repeats):
                f()
            sync()
            timings[name + "_ms_per_image"] = (time.perf_counter() - start) * 1e3 / args.repeats / n
        out["batches"][str(n)] = timings
    if args.pgd_batch:
        n, eps = args.pgd_batch, 4 / 255
        x = torch.rand(n, 3, 224, 224, device=dev)
        y = torch.zeros(n, dtype=torch.long, device=dev)

        def pgd10():
            adv = x.clone()
            for _ in range(10):
                adv.requires_grad_(True)
                loss = torch.nn.functional.cross_entropy(model(adv), y)
                (g,) = torch.autograd.grad(loss, adv)
                adv = (adv.detach() + 2.5 * eps / 10 * g.sign())
                adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1)
            return adv

        pgd10()
        sync()
        start = time.perf_counter()
        for _ in range(args.repeats):
            pgd10()
        sync()
        out["pgd10_images_per_s"] = n * args.repeats / (time.perf_counter() - start)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
