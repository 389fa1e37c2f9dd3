"""Reference bounds from auto_LiRPA (https://github.com/Verified-Intelligence/auto_LiRPA), for
crate/tests/lirpa_golden.rs. Run by hand (not in CI):

    pip install torch==2.5.1 safetensors
    pip install --no-deps auto-lirpa==0.3
    python3 tests/golden/gen_auto_lirpa.py > tests/golden/auto_lirpa.json

auto_LiRPA 0.3, the only release on PyPI, was written for torch < 1.13, which has no wheel for
current Pythons. Three shims (tests/golden/lirpa_shims.py) make it run on torch 2.5.1 without touching its bound code:
torch's private `_set_opset_version` is gone (it now sets `GLOBALS.export_onnx_opset_version`),
graph nodes are no longer subscriptable by attribute name (`node[k]` becomes the typed getter), and
`Module._named_members` gained a `remove_duplicate` argument. auto_LiRPA 0.3 also needs
`numpy<2`, `appdirs` and `tqdm`.

Each case: a model spec in Perturb's JSON format, its weights as a PyTorch state dict (inline for
the small random nets, the shipped file for the default model), images, the L-infinity radius
(the ball is clipped to [0, 1]), and auto_LiRPA's logit bounds by IBP and, for nets without max
pooling (where relaxations differ between tools), by CROWN and CROWN-IBP. The residual net's
shortcuts run through SpecNet below; it gets CROWN-IBP figures (the backward pass through the
shortcuts) but not full CROWN, whose intermediate bounds auto_LiRPA computes differently on this
graph (Perturb's differ by up to 1e-3 relative, tighter or looser per neuron; both sound).
auto_LiRPA 0.3's CROWN fails on grouped convolutions (a shape error in its ReLU backward step), so
the depthwise net has IBP figures only; Perturb's CROWN on it is checked against the same net
with its groups expanded to a block-diagonal dense convolution.
"""

import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lirpa_shims import BoundedModule, BoundedTensor, PerturbationLpNorm, auto_LiRPA  # noqa: E402 (shims)
from mnist_small_cnn import load_images, load_model  # noqa: E402

# Specs in Perturb's format; the PyTorch nn.Sequential below uses the same layer indices, so the
# state-dict names ("1.weight", ...) match the spec's default layer names.
MLP = {
    "input": [1, 6, 6],
    "layers": [
        {"type": "flatten"},
        {"type": "linear", "in_features": 36, "out_features": 20},
        {"type": "relu"},
        {"type": "linear", "in_features": 20, "out_features": 12},
        {"type": "batch_norm", "num_features": 12},
        {"type": "relu"},
        {"type": "linear", "in_features": 12, "out_features": 5},
    ],
}
CNN = {
    "input": [1, 8, 8],
    "layers": [
        {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "batch_norm", "num_features": 4},
        {"type": "relu"},
        {"type": "conv2d", "in_channels": 4, "out_channels": 6, "kernel_size": 3, "stride": 2,
         "padding": 1},
        {"type": "relu"},
        {"type": "avg_pool2d", "kernel_size": 2},
        {"type": "flatten"},
        {"type": "linear", "in_features": 24, "out_features": 10},
        {"type": "relu"},
        {"type": "linear", "in_features": 10, "out_features": 4},
    ],
}
POOLED = {
    "input": [1, 8, 8],
    "layers": [
        {"type": "conv2d", "in_channels": 1, "out_channels": 3, "kernel_size": 3},
        {"type": "relu"},
        {"type": "max_pool2d", "kernel_size": 2},
        {"type": "flatten"},
        {"type": "linear", "in_features": 27, "out_features": 4},
    ],
}
RESIDUAL = {
    "input": [1, 6, 6],
    "layers": [
        {"type": "conv2d", "in_channels": 1, "out_channels": 3, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
        {"type": "skip"},
        {"type": "conv2d", "in_channels": 3, "out_channels": 3, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
        {"type": "conv2d", "in_channels": 3, "out_channels": 3, "kernel_size": 3, "padding": 1},
        {"type": "add_skip"},
        {"type": "relu"},
        {"type": "flatten"},
        {"type": "skip"},
        {"type": "linear", "in_features": 108, "out_features": 108},
        {"type": "relu"},
        {"type": "add_skip"},
        {"type": "linear", "in_features": 108, "out_features": 4},
    ],
}
DEPTHWISE = {
    "input": [1, 6, 6],
    "layers": [
        {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
        {"type": "conv2d", "in_channels": 4, "out_channels": 4, "kernel_size": 3, "padding": 1,
         "groups": 4},
        {"type": "relu"},
        {"type": "conv2d", "in_channels": 4, "out_channels": 6, "kernel_size": 1},
        {"type": "relu"},
        {"type": "conv2d", "in_channels": 6, "out_channels": 6, "kernel_size": 3, "stride": 2,
         "padding": 1, "groups": 2},
        {"type": "relu"},
        {"type": "avg_pool2d", "kernel_size": 3},
        {"type": "flatten"},
        {"type": "linear", "in_features": 6, "out_features": 4},
    ],
}


class SpecNet(nn.Module):
    """Perturb's flat spec as a PyTorch module: layers registered under their indices (so the
    state-dict names match the spec's default names); `skip` keeps the activation and `add_skip`
    adds it back (an identity shortcut, as in a ResNet basic block)."""

    def __init__(self, layers, kinds):
        super().__init__()
        self.kinds = kinds
        for i, layer in enumerate(layers):
            self.add_module(str(i), layer)

    def forward(self, x):
        kept = []
        for i, kind in enumerate(self.kinds):
            if kind == "skip":
                kept.append(x)
            elif kind == "add_skip":
                x = x + kept.pop()
            else:
                x = getattr(self, str(i))(x)
        return x


def torch_layer(spec):
    kind = spec["type"]
    if kind == "flatten":
        return nn.Flatten()
    if kind == "relu":
        return nn.ReLU()
    if kind == "linear":
        return nn.Linear(spec["in_features"], spec["out_features"])
    if kind == "conv2d":
        return nn.Conv2d(spec["in_channels"], spec["out_channels"], spec["kernel_size"],
                         stride=spec.get("stride", 1), padding=spec.get("padding", 0),
                         groups=spec.get("groups", 1))
    if kind in ("skip", "add_skip"):
        return nn.Identity()
    if kind == "avg_pool2d":
        return nn.AvgPool2d(spec["kernel_size"])
    if kind == "max_pool2d":
        return nn.MaxPool2d(spec["kernel_size"])
    raise ValueError(kind)


def random_net(spec, seed):
    torch.manual_seed(seed)
    layers = []
    flat = False
    for layer in spec["layers"]:
        if layer["type"] == "flatten":
            flat = True
        if layer["type"] == "batch_norm":
            n = layer["num_features"]
            bn = nn.BatchNorm1d(n) if flat else nn.BatchNorm2d(n)
            # Non-trivial running statistics and affine parameters.
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.data.uniform_(0.5, 1.5)
            bn.bias.data.uniform_(-0.5, 0.5)
            layers.append(bn)
        else:
            layers.append(torch_layer(layer))
    kinds = [layer["type"] for layer in spec["layers"]]
    if "skip" in kinds:
        return SpecNet(layers, kinds).eval()
    return nn.Sequential(*layers).eval()


def bounds(model, images, eps, method):
    bounded = BoundedModule(model, torch.zeros_like(images), device="cpu")
    ptb = PerturbationLpNorm(norm=float("inf"), x_L=(images - eps).clamp(0, 1),
                             x_U=(images + eps).clamp(0, 1))
    lower, upper = bounded.compute_bounds(x=(BoundedTensor(images, ptb),), method=method)
    return lower.detach().flatten().tolist(), upper.detach().flatten().tolist()


def case(name, spec, model, images, eps, weights, crown):
    with torch.no_grad():
        logits = model(images)
    out = {
        "name": name,
        "spec": spec,
        "weights": weights,
        "images": images.flatten().tolist(),
        "shape": list(images.shape),
        "eps": eps,
        "logits": logits.flatten().tolist(),
    }
    out["ibp_lower"], out["ibp_upper"] = bounds(model, images, eps, "IBP")
    if "CROWN" in crown:
        out["crown_lower"], out["crown_upper"] = bounds(model, images, eps, "CROWN")
    if "CROWN-IBP" in crown:
        out["crown_ibp_lower"], out["crown_ibp_upper"] = bounds(model, images, eps, "CROWN-IBP")
    return out


def state_dict(model):
    return {k: {"shape": list(v.shape), "values": v.flatten().tolist()}
            for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


cases = []
BOTH = ("CROWN", "CROWN-IBP")
for name, spec, seed, crown in [("mlp", MLP, 1, BOTH), ("cnn", CNN, 2, BOTH),
                                ("pooled", POOLED, 3, ()), ("residual", RESIDUAL, 4, ("CROWN-IBP",)),
                                ("depthwise", DEPTHWISE, 5, ())]:
    model = random_net(spec, seed)
    images = torch.rand([3] + spec["input"], generator=torch.Generator().manual_seed(seed + 10))
    for eps in [0.02, 0.1]:
        cases.append(case(f"{name} eps={eps}", spec, model, images, eps, state_dict(model), crown))

default = load_model()
images, _ = load_images(4)
for eps in [0.005, 0.02]:
    cases.append(case(f"default model eps={eps}", None, default, images, eps, None, ()))

json.dump({"generator": "tests/golden/gen_auto_lirpa.py",
           "auto_lirpa": auto_LiRPA.__version__ if hasattr(auto_LiRPA, "__version__") else "0.3",
           "torch": torch.__version__, "cases": cases}, sys.stdout)
print()
