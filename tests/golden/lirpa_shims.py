"""auto_LiRPA 0.3 on torch 2.5.1: import this module instead of auto_LiRPA (see gen_auto_lirpa.py
for why each shim is needed; none touches auto_LiRPA's bound code)."""

import torch
import torch.onnx.symbolic_helper as symbolic_helper
from torch.onnx._globals import GLOBALS


def _set_opset_version(version):
    GLOBALS.export_onnx_opset_version = version


symbolic_helper._set_opset_version = _set_opset_version
torch._C.Node.__getitem__ = lambda node, key: getattr(node, node.kindOf(key))(key)

import auto_LiRPA  # noqa: E402,F401
from auto_LiRPA import BoundedModule, BoundedTensor, PerturbationLpNorm  # noqa: E402,F401

# torch >= 2.0 passes `remove_duplicate` to `Module._named_members`, which BoundedModule
# overrides with the older signature.
_named_members = BoundedModule._named_members
BoundedModule._named_members = (
    lambda self, get_members_fn, prefix="", recurse=True, remove_duplicate=True:
    _named_members(self, get_members_fn, prefix, recurse))
