"""How close the inputs of a max-pooling window come to a tie in the golden's networks: for each
MaxPool2d, the smallest gap between a window's two largest inputs, relative to the layer's largest
magnitude (windows whose maximum is ≤ 0 left out: ReLU stops their gradient). A gap near 1e-7 is
within float32 rounding of a deep network, so PyTorch and Perturb may send that window's gradient
to different inputs; crate/tests/suite/architectures_golden.rs allows for it. Run by hand:
    python3 tests/golden/maxpool_ties.py
"""
import sys, torch
sys.path.insert(0, __import__('os').path.dirname(__file__))
import gen_architectures as g
torch.set_num_threads(2)
images = torch.from_numpy(g.uniform("images", 2*3*64*64).reshape(2,3,64,64))
for arch, model, (mean, std) in g.models():
    if arch not in ("vgg16", "vgg16_bn", "resnet18", "densenet121"): continue
    model = g.fill(model)
    gaps = []
    def hook(m, inp, out):
        x = inp[0]
        k, s, p = m.kernel_size, m.stride, m.padding
        k = k if isinstance(k, int) else k[0]; s = s if isinstance(s, int) else s[0]; p = p if isinstance(p,int) else p[0]
        xp = torch.nn.functional.pad(x, (p,p,p,p), value=-1e30)
        u = xp.unfold(2, k, s).unfold(3, k, s).flatten(-2)
        top = u.topk(2, dim=-1).values
        rel = (top[...,0]-top[...,1]) / x.abs().amax().clamp_min(1e-12)
        # ignore windows whose max is <= 0 after relu (gradient dies)
        rel = torch.where(top[...,0] > 0, rel, torch.full_like(rel, 1.0))
        gaps.append((rel.amin(dim=(1,2,3)).tolist()))
    for mod in model.modules():
        if isinstance(mod, torch.nn.MaxPool2d): mod.register_forward_hook(hook)
    with torch.no_grad():
        model((images - torch.tensor(mean).reshape(1,3,1,1))/torch.tensor(std).reshape(1,3,1,1))
    print(arch, [[f"{v:.1e}" for v in g_] for g_ in gaps])
