"""Write tests/golden/architectures.json with PyTorch: for each named ImageNet architecture
(torchvision's resnet18, vgg16, vgg16_bn, densenet121, mobilenet_v2; efficientnet-lite-pytorch's
EfficientNet-Lite0 and Lite1), the logits, the mean cross-entropy and its input gradient on two
64×64 images. Perturb builds the same architectures from its layer specs and must reproduce them
to 1e-4 relative (crate/tests/suite/architectures_golden.rs), on the CPU and on wgpu.

No pretrained weights reach this machine, and committing them is out of the question (VGG-16 is
528 MB), so both sides fill every tensor by one closed-form rule (Perturb:
`perturb::reference::closed_form_weights`):

* tensor NAME (its state-dict name) of n values takes u_0 … u_{n-1} from SplitMix64 seeded with
  FNV-1a-64(NAME), u_i = (output_i >> 40) / 2^24 (exact in float32);
* a weight of rank ≥ 2: (2u − 1)·√(6 / fan_in), fan_in = the product of its shape but the first
  dimension (He-uniform, so activations keep their scale through 100+ layers);
* a bias: 0.1·(2u − 1); batch norm's γ: 1 + 0.25·(2u − 1), β and running mean: 0.1·(2u − 1),
  running variance: 1 + 0.5·u;
* the images: u from the seed FNV-1a-64("images"), shape [2, 3, 64, 64], pixels in [0, 1).

Every step is float32 arithmetic that IEEE rounds the same way in numpy and Rust. The models take
pixels in [0, 1]: the ImageNet normalisation (torchvision's mean/std; 127/255 and 128/255 for
EfficientNet-Lite) is applied first, as the specs' `normalize` layer does. EfficientNet-Lite is
built for 64×64 (`image_size=64`), whose static "same" padding equals TensorFlow's for that size.
Nothing is patched. Run by hand with torch, torchvision and efficientnet-lite-pytorch installed:

    python3 tests/golden/gen_architectures.py
"""

import base64
import json
import os

import numpy as np
import torch
import torchvision

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SIDE = 64
LABELS = [7, 512]
IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
LITE = ([127.0 / 255.0] * 3, [128.0 / 255.0] * 3)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def uniform(name, n):
    """u_0 … u_{n-1} of SplitMix64 seeded with FNV-1a-64(name), as float32 in [0, 1)."""
    seed = np.uint64(fnv1a64(name.encode()))
    with np.errstate(over="ignore"):
        s = seed + np.uint64(0x9E3779B97F4A7C15) * np.arange(1, n + 1, dtype=np.uint64)
        z = (s ^ (s >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float32) / np.float32(1 << 24)


def closed_form(name, shape):
    n = int(np.prod(shape)) if shape else 1
    u = uniform(name, n)
    t = np.float32(2) * u - np.float32(1)
    last = name.rsplit(".", 1)[-1]
    if last == "weight" and len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        bound = np.sqrt(np.float32(6) / np.float32(fan_in))
        values = t * bound
    elif last == "weight":
        values = np.float32(1) + np.float32(0.25) * t
    elif last in ("bias", "running_mean"):
        values = np.float32(0.1) * t
    elif last == "running_var":
        values = np.float32(1) + np.float32(0.5) * u
    else:
        raise ValueError(f"no rule for {name}")
    return torch.from_numpy(values.astype(np.float32).reshape(shape))


def fill(model):
    state = {}
    for name, tensor in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = tensor
        else:
            state[name] = closed_form(name, list(tensor.shape))
    model.load_state_dict(state)
    return model.eval()


def models():
    tv = torchvision.models
    yield "resnet18", tv.resnet18(), IMAGENET
    yield "vgg16", tv.vgg16(), IMAGENET
    yield "vgg16_bn", tv.vgg16_bn(), IMAGENET
    yield "densenet121", tv.densenet121(), IMAGENET
    yield "mobilenet_v2", tv.mobilenet_v2(), IMAGENET
    from efficientnet_lite_pytorch import EfficientNet

    for lite in ("efficientnet-lite0", "efficientnet-lite1"):
        yield lite.replace("-", "_"), EfficientNet.from_name(lite, image_size=SIDE), LITE


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    images = torch.from_numpy(uniform("images", 2 * 3 * SIDE * SIDE).reshape(2, 3, SIDE, SIDE))
    labels = torch.tensor(LABELS)
    out = {
        "generator": "tests/golden/gen_architectures.py",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "side": SIDE,
        "labels": LABELS,
        "models": [],
    }
    for arch, model, (mean, std) in models():
        model = fill(model)
        x = images.clone().requires_grad_(True)
        mean_t = torch.tensor(mean).reshape(1, 3, 1, 1)
        std_t = torch.tensor(std).reshape(1, 3, 1, 1)
        logits = model((x - mean_t) / std_t)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        (gradient,) = torch.autograd.grad(loss, x)
        out["models"].append(
            {
                "arch": arch,
                "loss": loss.item(),
                "logits": [float(v) for v in logits.detach().flatten()],
                "gradient_f32le_base64": base64.b64encode(
                    gradient.flatten().numpy().astype("<f4").tobytes()
                ).decode(),
            }
        )
        print(f"{arch}: loss {loss.item():.4f}, |logits| ≤ {logits.abs().max().item():.3g}, "
              f"|∂L/∂x| ≤ {gradient.abs().max().item():.3g}", flush=True)
    with open(os.path.join(ROOT, "tests", "golden", "architectures.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
