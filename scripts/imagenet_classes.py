"""Write crate/assets/imagenet-classes.tsv: ImageNet-1k's 1,000 classes in the standard index
order (the sorted WordNet ids, as torchvision's ImageFolder numbers the ILSVRC2012 class folders),
one line per class: `wnid<TAB>name`.

Sources: the WordNet ids from timm's `timm/data/_info/imagenet_synsets.txt` (Apache-2.0), the
short names from torchvision's `_IMAGENET_CATEGORIES` (BSD-3-Clause), which follow the same order.
Run by hand where pip can reach PyPI and torchvision is installed:

    python3 scripts/imagenet_classes.py
"""

import os
import subprocess
import sys
import tempfile
import zipfile

from torchvision.models._meta import _IMAGENET_CATEGORIES

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, "timm==1.0.31"],
            check=True,
        )
        wheel = [f for f in os.listdir(tmp) if f.endswith(".whl")][0]
        with zipfile.ZipFile(os.path.join(tmp, wheel)) as z:
            wnids = z.read("timm/data/_info/imagenet_synsets.txt").decode().split()
    assert len(wnids) == 1000 and wnids == sorted(wnids), "expected the 1,000 sorted ImageNet-1k ids"
    assert len(_IMAGENET_CATEGORIES) == 1000
    out = os.path.join(ROOT, "crate", "assets", "imagenet-classes.tsv")
    with open(out, "w") as f:
        for wnid, name in zip(wnids, _IMAGENET_CATEGORIES):
            assert "\t" not in name and "\n" not in name
            f.write(f"{wnid}\t{name}\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
