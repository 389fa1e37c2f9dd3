"""Write a copy of SafeTensors weights with every tensor stored as float16 (half the bytes).
Perturb's loader reads F16 (and BF16) tensors and computes in f32. Measured in models/README.md.

    pip install safetensors numpy
    python3 scripts/f16_weights.py models/mnist-lenet5.safetensors /tmp/mnist-lenet5-f16.safetensors
"""

import sys

import numpy as np
from safetensors.numpy import load_file, save_file

source, target = sys.argv[1], sys.argv[2]
save_file({k: v.astype(np.float16) for k, v in load_file(source).items()}, target)
