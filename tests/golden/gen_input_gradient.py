"""Write tests/golden/input_gradient.json with PyTorch: the mean cross-entropy of the shipped
default model (models/mnist-small-cnn.safetensors) on four shipped MNIST test images, their logits
and the input gradient of that loss. Perturb's backends (CPU, wgpu, WebGPU in the browser) must
reproduce it to 1e-4.

The four images are those with the highest loss among the first 200: their gradients are large, so
an absolute tolerance on them is a strict test. Nothing is patched; float32 throughout, as Perturb.

Run by hand with torch and safetensors installed (not part of the set-up):

    python3 tests/golden/gen_input_gradient.py
"""

import json
import os

import torch

from mnist_small_cnn import ROOT, load_images, load_model


def fnv1a64(data):
    """64-bit FNV-1a, as hex: the fingerprint Perturb checks the weights against."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def main():
    torch.manual_seed(0)
    model = load_model()
    images, labels = load_images(200)
    with torch.no_grad():
        losses = torch.nn.functional.cross_entropy(model(images), labels, reduction="none")
    hardest = sorted(torch.argsort(losses, descending=True)[:4].tolist())
    x = images[hardest].clone().requires_grad_(True)
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits, labels[hardest])
    loss.backward()
    with open(os.path.join(ROOT, "models", "mnist-small-cnn.safetensors"), "rb") as f:
        fingerprint = fnv1a64(f.read())
    reference = {
        "weights_fingerprint": fingerprint,
        "image_indices": hardest,
        "loss": loss.item(),
        "logits": logits.detach().flatten().tolist(),
        "gradient": x.grad.flatten().tolist(),
    }
    out = os.path.join(ROOT, "tests", "golden", "input_gradient.json")
    with open(out, "w") as f:
        json.dump(reference, f)
    print(f"wrote {out}: images {hardest}, loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
