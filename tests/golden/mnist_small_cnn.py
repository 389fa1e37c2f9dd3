"""The shipped default model (models/mnist-small-cnn.safetensors) as a PyTorch module, and the
shipped MNIST test images, for the reference scripts in tests/. Needs torch and safetensors."""

import gzip
import os
import struct

import torch
from safetensors.torch import load_file
from torch import nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


class SmallCnn(nn.Module):
    """conv3x3-8, ReLU, pool2, conv3x3-16, ReLU, pool2, fc-64, ReLU, fc-10 (same names)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3)
        self.conv2 = nn.Conv2d(8, 16, 3)
        self.fc1 = nn.Linear(400, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


def load_model():
    model = SmallCnn()
    model.load_state_dict(load_file(os.path.join(ROOT, "models", "mnist-small-cnn.safetensors")))
    return model.eval()


def load_images(count):
    """The first `count` shipped MNIST test images in [0, 1] as [n, 1, 28, 28], and labels."""
    assets = os.path.join(ROOT, "crate", "assets")
    with gzip.open(os.path.join(assets, "mnist-test-1k-images-idx3-ubyte.gz")) as f:
        _, n, rows, cols = struct.unpack(">IIII", f.read(16))
        pixels = torch.frombuffer(bytearray(f.read(n * rows * cols)), dtype=torch.uint8)
    with gzip.open(os.path.join(assets, "mnist-test-1k-labels-idx1-ubyte.gz")) as f:
        f.read(8)
        labels = torch.frombuffer(bytearray(f.read(n)), dtype=torch.uint8)
    images = pixels.reshape(n, 1, rows, cols)[:count].float() / 255.0
    return images, labels[:count].long()
