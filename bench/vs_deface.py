#!/usr/bin/env python
"""deface against facemask's presets on one annotated folder: one markdown table.

    uv run python bench/vs_deface.py [FOLDER] [--stride K] [--limit N] [--presets fast,auto,thorough]
    uv run python bench/vs_deface.py --table-only      # rewrite the markdown from the saved .json

Run time: deface and `fast` make one pass per photo, `auto` and `thorough` about five (a ×2 magnified pass), so the
whole of faces-dev (300 photos) takes about 15 minutes on 2 idle cores; `--stride 2` (every second photo) halves it.

FOLDER is in the simple format of ../shared/data (images + annotations.json with `faces` and `ignore` boxes as
[x, y, w, h]); default ../shared/data/faces-dev. deface runs through its own code path: its `CenterFace` class at
its defaults (the ONNX model at the photo's size rounded to multiples of 32), threshold 0.2, mask scale 1.3.
Privacy recall is the share of faces whose box is at least 90 % covered by the union of the detection boxes grown
by the mask scale; false positives are detections matching no face or ignore box at IoU 0.5 (greedy, highest
score first); masked share is the mean share of the image those grown boxes cover. Every detector is timed in the
same run (median seconds per image, detection only; the machine's other load adds noise). The table is printed and
written to bench/results/vs_deface.md, with the raw numbers in bench/results/vs_deface.json.
"""
from __future__ import annotations

import argparse, contextlib, io, json, os, sys, time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent/"shared"/"data"/"faces-dev"
BUCKETS = [(0, 16, "< 16"), (16, 32, "16–32"), (32, 64, "32–64"), (64, 128, "64–128"), (128, np.inf, "≥ 128")]

def xywh_to_xyxy(b) -> np.ndarray:
    b = np.asarray(b, np.float32).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], 1)

def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    "IoU matrix of (N, 4) and (M, 4) xyxy boxes."
    if len(a) == 0 or len(b) == 0: return np.zeros((len(a), len(b)), np.float32)
    wh = np.clip(np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2]), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])
    return inter / np.maximum(area(a)[:, None] + area(b)[None] - inter, 1e-9)

def mask_of(xyxy: np.ndarray, size_wh: tuple[int, int], scale: float) -> np.ndarray:
    "Pixels covered by the boxes grown by `scale` about their centres (rectangles), clipped to the image."
    w, h = size_wh
    m = np.zeros((h, w), bool)
    c, half = (xyxy[:, :2] + xyxy[:, 2:]) / 2, (xyxy[:, 2:] - xyxy[:, :2]) * scale / 2
    for x1, y1, x2, y2 in np.round(np.concatenate([c - half, c + half], 1)).astype(int):
        m[max(y1, 0):max(min(y2, h), 0), max(x1, 0):max(min(x2, w), 0)] = True
    return m

def score_image(xyxy, scores, faces, ignore, size_wh, scale) -> dict:
    "Per-image counts: which faces are covered, their heights, false positives, masked share."
    m = mask_of(xyxy, size_wh, scale)
    covered = np.array([m[y1:y2, x1:x2].mean() >= 0.9 if y2 > y1 and x2 > x1 else False
                        for x1, y1, x2, y2 in np.round(faces).astype(int)], bool)
    used, fp = np.zeros(len(faces), bool), 0
    I, J = iou(xyxy, faces), iou(xyxy, ignore)
    for k in np.argsort(-scores, kind="stable"):
        free = np.where((I[k] >= 0.5) & ~used)[0] if len(faces) else []
        if len(free): used[free[np.argmax(I[k][free])]] = True
        elif not (len(ignore) and J[k].max() >= 0.5): fp += 1
    return dict(covered=covered, heights=faces[:, 3] - faces[:, 1], fp=fp, share=float(m.mean()), tp=int(used.sum()))

def summarize(per_image: list[dict], times: list[float]) -> dict:
    cov = np.concatenate([p["covered"] for p in per_image]); hts = np.concatenate([p["heights"] for p in per_image])
    r = {"privacy recall": float(cov.mean())}
    for lo, hi, label in BUCKETS: r[label] = float(cov[(hts >= lo) & (hts < hi)].mean())
    r["≥ 32"] = float(cov[hts >= 32].mean())
    r["recall@0.5"] = sum(p["tp"] for p in per_image) / len(cov)
    r["false pos./image"] = float(np.mean([p["fp"] for p in per_image]))
    r["masked share"] = float(np.mean([p["share"] for p in per_image]))
    r["s/image"] = float(np.median(times))
    return r

def deface_detector():
    "deface's own CenterFace class at its defaults; returns f(rgb) -> (xyxy, scores)."
    from deface.centerface import CenterFace as DefaceCenterFace
    with contextlib.redirect_stdout(io.StringIO()): cf = DefaceCenterFace()      # it prints its provider
    def detect(rgb):
        dets, _ = cf(rgb, threshold=0.2)
        return dets[:, :4], dets[:, 4]
    return detect

def facemask_detector(preset: str):
    from facemask import dnn
    det = getattr(dnn, f"{preset}_detector")()
    def detect(rgb):
        f = det(rgb)
        return f.xyxy, f.scores
    return detect

def load_folder(folder: Path) -> list[dict]:
    ann = json.loads((folder/"annotations.json").read_text())
    return ann

def run(folder: Path = DEFAULT, presets=("fast", "auto", "thorough"), limit: int | None = None, stride: int = 1) -> list[dict]:
    "Score deface and the presets on one folder; a list of rows (dicts) in table order."
    from facemask.core import read_rgb
    from facemask import dnn
    ann = load_folder(folder)[::stride][:limit]
    contenders = [("deface (CenterFace 0.2, ×1.3)", deface_detector(), 1.3)]
    for p in presets:
        contenders.append((f"facemask {p} (×{dnn.MASK_SCALES[p]:g})", facemask_detector(p), dnn.MASK_SCALES[p]))
    images = [(a, read_rgb(folder/a["image"])) for a in ann]
    rows = []
    for name, detect, scale in contenders:
        detect(images[0][1])                                               # load the model outside the timing
        per, times = [], []
        for a, rgb in images:
            t = time.perf_counter(); xyxy, scores = detect(rgb); times.append(time.perf_counter() - t)
            per.append(score_image(np.asarray(xyxy, np.float32).reshape(-1, 4), np.asarray(scores, np.float32).reshape(-1),
                                   xywh_to_xyxy(a["faces"]), xywh_to_xyxy(a["ignore"]), (a["width"], a["height"]), scale))
        rows.append({"detector": name, "mask scale": scale, **summarize(per, times)})
        print(f"  {name}: done, {np.sum(times):.0f} s", file=sys.stderr)
    return rows

def markdown(rows: list[dict], folder: Path, n_images: int, n_faces: int) -> str:
    cols = ["privacy recall"] + [b[2] for b in BUCKETS] + ["≥ 32", "false pos./image", "masked share", "s/image"]
    head = "| detector | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols) + "\n"
    body = "".join("| " + r["detector"] + " | " + " | ".join(f"{r[c]:.3f}" if c in ("privacy recall", "masked share") else
                   f"{r[c]:.2f}" for c in cols) + " |\n" for r in rows)
    return (f"{head}{body}\n{n_images} images, {n_faces} faces from `{folder.name}`; privacy recall = share of faces ≥ 90 % "
            f"covered by the detections grown by the mask scale (rectangles); false positives at IoU 0.5; "
            f"s/image = median detection time on 2 shared CPU cores (noisy).\n")

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default=str(DEFAULT), help="annotated folder (default: %(default)s)")
    ap.add_argument("--presets", default="fast,auto,thorough", help="facemask presets to compare (comma-separated)")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N images (after --stride)")
    ap.add_argument("--stride", type=int, default=1, help="use every k-th image")
    ap.add_argument("--out", default=str(ROOT/"bench"/"results"/"vs_deface.md"), help="markdown file to write")
    ap.add_argument("--table-only", action="store_true", help="only rewrite the table from the .json beside --out")
    a = ap.parse_args(argv)
    folder = Path(a.folder)
    if not (folder/"annotations.json").exists(): sys.exit(f"{folder}: no annotations.json here; give an annotated folder")
    out = Path(a.out)
    if a.table_only: rows = json.loads(out.with_suffix(".json").read_text())
    else: rows = run(folder, [p for p in a.presets.split(",") if p], a.limit, a.stride)
    ann = load_folder(folder)[::a.stride][:a.limit]
    md = markdown(rows, folder, len(ann), sum(len(x["faces"]) for x in ann))
    print(md)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md); out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    return rows

if __name__ == "__main__": main()
