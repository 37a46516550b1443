#!/usr/bin/env python
"""deface against facemask's presets on one annotated folder: one markdown table, two ways of counting coverage.

    uv run python bench/vs_deface.py [FOLDER] [--stride K] [--limit N] [--presets fast,auto,thorough] [--cache DIR]
    uv run python bench/vs_deface.py --table-only      # rewrite the markdown from the saved .json

FOLDER is in the simple format of ../shared/data (images + annotations.json with `faces` and `ignore` boxes as
[x, y, w, h]); default ../shared/data/faces-dev. deface runs through its own code path: its `CenterFace` class at
its defaults (the ONNX model at the photo's size rounded to multiples of 32), threshold 0.2, mask scale 1.3.
deface and `fast` run in turn on each photo (deface, then `fast`, photo by photo), so the machine's load changes
both timings alike. `auto` and `thorough` make about five passes each (a ×2 magnified copy): 20–30 minutes over the
300 photos of faces-dev on 2 cores. With `--cache DIR` their detections and times are read from the JSON caches
`facemask.evaluate.evaluate(..., cache=)` keeps (DIR/NAME.json); photos a cache lacks are run and added to it.

Scoring is `facemask.evaluate.score` (greedy matching at IoU 0.5, ignore boxes neither right nor wrong; privacy
recall = faces whose box is ≥ 90 % covered), with what counts as covered taken two ways:
- **boxes ×1.3** (the issue's convention): every detection box grown ×1.3 about its centre, a rectangle;
- **as drawn**: what each tool's default mask really covers. deface draws an ellipse inside its box grown by 30 %
  *on each side* (`deface.scale_bb`: ×1.6 overall); facemask's default emoji, blur, pixelate and solid masks are
  round, counted as ellipses in the box ×1.45 (`facemask.dnn.ELLIPSE_MASK_SCALES`, the default of `facemask evaluate`).
Masked share (the mean share of each photo covered) is reported in both, so that "mask everything" cannot win.
The table is printed and written to bench/results/vs_deface.md, with the raw numbers in bench/results/vs_deface.json.
"""
from __future__ import annotations

import argparse, contextlib, io, json, sys, time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent/"shared"/"data"/"faces-dev"
DEFACE = "deface (CenterFace 0.2)"
BIG = (">=128", "64-128", "32-64")  # facemask.evaluate.SIZE_NAMES of faces ≥ 32 px

class DefaceDrawn:
    "deface's own mask region: an ellipse inside the box grown by (scale - 1) × its size on each side, clipped as deface clips."
    def __init__(self, scale: float = 1.3): self.scale = scale
    def __repr__(self) -> str: return f"deface's ellipses (box sides +{self.scale - 1:.0%} each)"
    def coverage(self, faces, size_wh) -> np.ndarray:
        import skimage.draw
        from deface.deface import scale_bb
        w, h = size_wh
        m = np.zeros((h, w), bool)
        for box in faces.xyxy:
            x1, y1, x2, y2 = (int(v) for v in scale_bb(*(int(v) for v in box), self.scale))   # as deface.anonymize_frame
            y1, y2, x1, x2 = max(0, y1), min(h - 1, y2), max(0, x1), min(w - 1, x2)
            if x2 <= x1 or y2 <= y1: continue
            ey, ex = skimage.draw.ellipse((y2 - y1) // 2, (x2 - x1) // 2, (y2 - y1) // 2, (x2 - x1) // 2, shape=(y2 - y1, x2 - x1))
            m[y1 + ey, x1 + ex] = True
        return m

def deface_detector():
    "deface's own CenterFace class at its defaults; returns f(rgb) -> Faces."
    from deface.centerface import CenterFace as DefaceCenterFace
    from facemask.core import Faces
    with contextlib.redirect_stdout(io.StringIO()): cf = DefaceCenterFace()      # it prints its provider
    def detect(rgb):
        dets, _ = cf(rgb, threshold=0.2)
        return Faces(dets[:, :4].astype(np.float32), dets[:, 4].astype(np.float32), detector="deface")
    return detect

def big_share(rep) -> float:
    "Privacy recall of faces ≥ 32 px from a Report's per-size numbers."
    n = sum(rep.faces_by_size[b] for b in BIG)
    return sum(rep.privacy_by_size[b] * rep.faces_by_size[b] for b in BIG if rep.faces_by_size[b]) / n if n else float("nan")

def rows_of(name: str, report, drawn: dict, boxes_scale: float = 1.3, timed: str = "live") -> list[dict]:
    "Score one detector both ways (`report(**how)` returns a `facemask.evaluate.Report`): two table rows."
    out = []
    for way, how in [("boxes ×1.3", dict(scale=boxes_scale, shape="rect")), ("as drawn", drawn)]:
        r = report(**how)
        out.append({"detector": name, "coverage": way, "mask": r.mask, "privacy recall": r.privacy_recall,
                    **{k: r.privacy_by_size[k] for k in r.privacy_by_size}, "≥ 32": big_share(r),
                    "recall@0.5": r.recall, "AP": r.ap, "false pos./image": r.fp_per_image, "masked share": r.masked_share,
                    "s/image": r.s_per_image, "timed": timed})
    return out

def run(folder: Path = DEFAULT, presets=("fast", "auto", "thorough"), limit: int | None = None, stride: int = 1,
        cache: Path | None = None) -> list[dict]:
    "Score deface and the presets on one folder; a list of rows (dicts) in table order."
    import tempfile
    from facemask.core import read_rgb
    from facemask.evaluate import evaluate, load_dataset, score
    from facemask import dnn
    ds = load_dataset(folder)[::stride][:limit]
    live = {DEFACE: deface_detector()}
    if "fast" in presets: live["fast"] = dnn.fast_detector()
    rgb0 = read_rgb(ds[0].path)
    for d in live.values(): d(rgb0)                                         # load the models outside the timing
    dets = {n: {} for n in live}; secs = {n: {} for n in live}
    for i, a in enumerate(ds):                                              # in turn on each photo: same load for both
        rgb = read_rgb(a.path)
        for n, d in live.items():
            t = time.perf_counter(); dets[n][a.key] = d(rgb); secs[n][a.key] = time.perf_counter() - t
        if (i + 1) % 25 == 0: print(f"  {i + 1}/{len(ds)} photos", file=sys.stderr)
    scored = lambda n: (lambda **how: score(ds, dets[n], name=n, seconds=secs[n], **how))
    rows = rows_of(DEFACE, scored(DEFACE), dict(mask=DefaceDrawn(1.3)))
    folder_of_caches = Path(cache) if cache else Path(tempfile.mkdtemp(prefix="vs-deface-"))
    for p in presets:
        drawn = dict(scale=dnn.ELLIPSE_MASK_SCALES[p], shape="ellipse")
        if p in live: rows += rows_of(f"facemask {p}", scored(p), drawn, dnn.MASK_SCALES[p])
        else:  # `evaluate` runs the photos its cache lacks (all of them without --cache), then scores from the cache
            det = getattr(dnn, f"{p}_detector")()
            report = lambda **how: evaluate(det, ds, cache=folder_of_caches/f"{p}.json", **how)
            rows += rows_of(f"facemask {p}", report, drawn, dnn.MASK_SCALES[p], timed="cache" if cache else "live")
    return rows

COLS = ["privacy recall", "<16", "16-32", "32-64", "64-128", ">=128", "≥ 32", "false pos./image", "masked share", "s/image"]
HEAD = ["privacy recall", "< 16", "16–32", "32–64", "64–128", "≥ 128", "≥ 32 px", "false pos./image", "masked share", "s/image"]

def markdown(rows: list[dict], folder: Path, n_images: int, n_faces: int) -> str:
    out = []
    for way in ("boxes ×1.3", "as drawn"):
        out.append(f"**Covered = {way}**\n\n| detector | mask | " + " | ".join(HEAD) + " |\n|---|---|" + "---|" * len(HEAD))
        for r in (r for r in rows if r["coverage"] == way):
            cells = [f"{r[c]:.3f}" if c in ("privacy recall", "masked share", "≥ 32") else f"{r[c]:.2f}" for c in COLS]
            if r["timed"] == "cache": cells[-1] += "†"
            out.append(f"| {r['detector']} | {r['mask']} | " + " | ".join(cells) + " |")
        out.append("")
    return ("\n".join(out) + f"\n{n_images} photos, {n_faces} faces from `{folder.name}`. Privacy recall: share of faces whose box is ≥ 90 % "
            "covered; false positives at IoU 0.5; masked share: mean share of each photo covered. *Boxes ×1.3*: every "
            "detection box grown ×1.3 about its centre (the issue's convention); *as drawn*: what each tool's default "
            "mask covers (deface: ellipses in its box grown 30 % on each side; facemask: round masks, ellipses ×1.45). "
            "s/image: median detection time on 2 shared CPU cores; deface and `fast` ran in turn on each photo; "
            "† read from the `facemask evaluate` cache, timed in an earlier run on the same machine (noisier).\n")

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default=str(DEFAULT), help="annotated folder (default: %(default)s)")
    ap.add_argument("--presets", default="fast,auto,thorough", help="facemask presets to compare (comma-separated)")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N images (after --stride)")
    ap.add_argument("--stride", type=int, default=1, help="use every k-th image")
    ap.add_argument("--cache", default=None, help="folder of `evaluate` caches (NAME.json) to reuse for auto/thorough")
    ap.add_argument("--out", default=str(ROOT/"bench"/"results"/"vs_deface.md"), help="markdown file to write")
    ap.add_argument("--table-only", action="store_true", help="only rewrite the table from the .json beside --out")
    a = ap.parse_args(argv)
    folder = Path(a.folder)
    if not (folder/"annotations.json").exists(): sys.exit(f"{folder}: no annotations.json here; give an annotated folder")
    out = Path(a.out)
    if a.table_only: rows = json.loads(out.with_suffix(".json").read_text())
    else: rows = run(folder, [p for p in a.presets.split(",") if p], a.limit, a.stride, a.cache)
    ann = json.loads((folder/"annotations.json").read_text())[::a.stride][:a.limit]
    md = markdown(rows, folder, len(ann), sum(len(x["faces"]) for x in ann))
    print(md)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md); out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    return rows

if __name__ == "__main__": main()
