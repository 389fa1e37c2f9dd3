"""Write tests/golden/image_pipeline.json: torchvision's evaluation transform (Resize, then
CenterCrop, on PIL images) on small synthetic PNGs, which Perturb's `data::transform` must
reproduce byte for byte (PNG is lossless, so only the resampling is compared), and, for the 20
ImageNet sample JPEGs of foolbox 3.3.4, statistics of PIL's 224×224 crops (per-channel means and
the same 2,000 seeded pixel positions in each), against which Perturb's JPEG decoder plus transform is
measured (the decoders differ: Pillow uses libjpeg-turbo, Perturb zune-jpeg).

Nothing is patched. Run by hand with torch, torchvision and Pillow installed, after
scripts/fetch-data.sh (for the JPEGs):

    python3 tests/golden/gen_image_pipeline.py
"""

import base64
import glob
import io
import json
import os

import numpy as np
from PIL import Image
from torchvision import transforms

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SAMPLES = 2000


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(array, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def synthetic(width, height, seed):
    """Smooth waves plus noise: edges and gradients for the filter to get wrong."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    waves = [
        127 + 100 * np.sin(x / (3 + c) + y / (5 + 2 * c) + c) for c in range(3)
    ]
    noise = rng.integers(-40, 40, size=(height, width, 3))
    return np.clip(np.stack(waves, axis=-1) + noise, 0, 255).astype(np.uint8)


def main():
    out = {"generator": "tests/golden/gen_image_pipeline.py", "synthetic": [], "jpeg": []}
    for (width, height, resize, crop, seed) in [
        (101, 67, 74, 64, 1),
        (67, 101, 74, 64, 2),
        (80, 80, 74, 64, 3),
        (150, 99, 70, 64, 4),
        (50, 40, 74, 64, 5),  # upsampled
    ]:
        data = png(synthetic(width, height, seed))
        image = Image.open(io.BytesIO(data)).convert("RGB")
        prepared = transforms.CenterCrop(crop)(transforms.Resize(resize)(image))
        out["synthetic"].append(
            {
                "png_base64": base64.b64encode(data).decode(),
                "resize": resize,
                "crop": crop,
                "expected_base64": base64.b64encode(np.asarray(prepared).tobytes()).decode(),
            }
        )
    files = sorted(glob.glob(os.path.join(ROOT, "data", "imagenet", "samples", "*.jpg")))
    assert len(files) == 20, "run scripts/fetch-data.sh first"
    rng = np.random.default_rng(0)
    positions = rng.integers(0, 224 * 224 * 3, size=SAMPLES)
    out["positions"] = [int(p) for p in positions]
    for path in files:
        image = Image.open(path).convert("RGB")
        prepared = np.asarray(transforms.CenterCrop(224)(transforms.Resize(256)(image)))
        flat = prepared.reshape(-1)
        out["jpeg"].append(
            {
                "file": os.path.basename(path),
                "channel_means": [float(prepared[..., c].mean()) for c in range(3)],
                "values": [int(flat[p]) for p in positions],
            }
        )
    with open(os.path.join(ROOT, "tests", "golden", "image_pipeline.json"), "w") as f:
        json.dump(out, f)
    print(f"wrote {len(out['synthetic'])} synthetic cases and {len(out['jpeg'])} JPEGs")


if __name__ == "__main__":
    main()
