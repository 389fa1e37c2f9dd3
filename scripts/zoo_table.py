#!/usr/bin/env python3
"""Write the tables of models/README.md from the model cards (models/*.json) and the side-by-side
measurements of scripts/zoo-report.sh (models/report/*.json), between the markers in the README."""
import glob
import json
import os
import re

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
models = os.path.join(root, "models")


def pct(x):
    return "–" if x is None else f"{100 * x:.2f}%"


def objective(card):
    o = card["config"]["objective"]
    kind = o["kind"]
    if kind == "standard":
        return "standard"
    if kind == "adversarial":
        return f"Madry PGD-{o['steps']} ε={o['epsilon']:.2g}"
    if kind == "ibp":
        return f"IBP (Gowal) ε={o['epsilon']:.2g}, κ→{o['kappa_end']:.2g}"
    if kind == "noise":
        return f"Gaussian noise σ={o['sigma']:.2g}"
    return kind


def cards():
    out = []
    for path in sorted(glob.glob(os.path.join(models, "*.json"))):
        card = json.load(open(path))
        if "weights_file" in card:
            out.append(card)
    return out


def zoo_table(all_cards, readme_text):
    """One row per trained card; a card of weights trained elsewhere (no `config`, a `source`)
    keeps the row written by hand in the README, after the trained ones."""
    kept = []
    for c in all_cards:
        if "config" not in c:
            row = re.search(rf"^\| `{re.escape(c['name'])}`.*$", readme_text, re.M)
            if not row:
                raise SystemExit(f"{c['name']}: a card without training config needs a hand-written row")
            kept.append(row.group(0))
    rows = [
        "| model | dataset | architecture | objective | epochs | params | size | clean | robust (PGD-40 at ε) | IBP-verified | train time | card |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in all_cards:
        if "config" not in c:
            continue
        m = c["metrics"]
        clean = m.get("clean_accuracy", m.get("clean_accuracy_test"))
        eps = m.get("epsilon")
        robust = f"{pct(m.get('robust_accuracy'))} at {eps:.2g}" if eps else "–"
        verified = m.get("verified_accuracy")
        verified = f"{pct(verified)} at {eps:.2g}" if eps and verified else "–"
        arch = c["architecture"]
        name = f"`{c['name']}`" + (" (playground default)" if c["name"] == "mnist-small-cnn" else "")
        rows.append(
            f"| {name} | {c['dataset']} | {arch} | {objective(c)} | {c['config']['epochs']} "
            f"| {c['parameters']:,} | {c['weights_bytes'] / 1024:.0f} KiB | {pct(clean)} | {robust} "
            f"| {verified} | {c['wall_time_s']:.0f} s | [json]({c['name']}.json) |"
        )
    return "\n".join(rows + kept)


def tradeoff_table():
    evals = {}
    for path in glob.glob(os.path.join(models, "report", "eval-*.json")):
        name, eps = re.match(r"eval-(.*)-eps([0-9.]+)\.json", os.path.basename(path)).groups()
        evals.setdefault(name, {})[eps] = json.load(open(path))["evaluation"]
    if not evals:
        return "(run scripts/zoo-report.sh)"
    rows = [
        "| model | clean | PGD-40 robust ε=0.1 | PGD-40 robust ε=0.3 | IBP-verified ε=0.1 | IBP-verified ε=0.3 |",
        "|---|---|---|---|---|---|",
    ]
    for name in sorted(evals, key=lambda n: (-evals[n].get("0.3", {}).get("robust_accuracy", 0), n)):
        e = evals[name]
        clean = next(iter(e.values()))["clean_accuracy"]
        get = lambda eps, key: pct(e.get(eps, {}).get(key))
        rows.append(
            f"| `{name}` | {pct(clean)} | {get('0.1', 'robust_accuracy')} | {get('0.3', 'robust_accuracy')} "
            f"| {get('0.1', 'verified_accuracy')} | {get('0.3', 'verified_accuracy')} |"
        )
    return "\n".join(rows)


def transfer_table():
    path = os.path.join(models, "report", "transfer-mnist.json")
    if not os.path.exists(path):
        return "(run scripts/zoo-report.sh)"
    return json.load(open(path))["markdown"].strip()


def main():
    readme = os.path.join(models, "README.md")
    text = open(readme).read()
    for marker, table in [
        ("zoo", zoo_table(cards(), text)),
        ("tradeoff", tradeoff_table()),
        ("transfer", transfer_table()),
    ]:
        pattern = re.compile(rf"(<!-- {marker}:begin -->\n).*?(<!-- {marker}:end -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"models/README.md lacks the {marker} markers")
        text = pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text)
    open(readme, "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
