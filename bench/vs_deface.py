#!/usr/bin/env python
"""deface against facemask's presets on one annotated folder: one markdown table, two ways of counting coverage.

    uv run python bench/vs_deface.py [FOLDER] [--stride K] [--limit N] [--presets fast,auto,thorough] [--cache DIR]
    uv run python bench/vs_deface.py --presets fast,auto --earlier thorough   # thorough's rows from the last run
    uv run python bench/vs_deface.py --table-only      # rewrite the markdown from the saved .json
    uv run python bench/vs_deface.py --frontier        # every configuration tried for `auto` -> results/frontier.md
    uv run python bench/vs_deface.py --big             # 4000×3000 and 6000×4000: time and peak memory

FOLDER is in the simple format of ../shared/data (images + annotations.json with `faces` and `ignore` boxes as
[x, y, w, h]); default ../shared/data/faces-dev. deface runs through its own code path: its `CenterFace` class at
its defaults (the ONNX model at the photo's size rounded to multiples of 32), threshold 0.2, mask scale 1.3.
deface and every preset run in turn on each photo (the order rotating from photo to photo), so the machine's load
changes all timings alike; the table gives each one's total time relative to deface's in the same run, and the
privacy recall on the even- and odd-numbered photos separately (a result that holds on one half only is luck).
With `--cache DIR` the presets other than `fast` are read from the JSON caches `facemask.evaluate.evaluate(..., cache=)`
keeps (DIR/NAME.json) instead of being timed live.

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

def timed_in_turn(ds, live: dict, label: str = "photos") -> tuple[dict, dict]:
    "Run every detector of `live` on each photo in turn (the order rotating per photo): detections and seconds."
    from facemask.core import read_rgb
    rgb0 = read_rgb(ds[0].path)
    for d in live.values(): d(rgb0)                                         # load the models outside the timing
    dets = {n: {} for n in live}; secs = {n: {} for n in live}
    names = list(live)
    for i, a in enumerate(ds):                                              # in turn on each photo: same load for all
        rgb = read_rgb(a.path)
        for n in names[i % len(names):] + names[:i % len(names)]:
            t = time.perf_counter(); dets[n][a.key] = live[n](rgb); secs[n][a.key] = time.perf_counter() - t
        if (i + 1) % 25 == 0: print(f"  {i + 1}/{len(ds)} {label}", file=sys.stderr, flush=True)
    return dets, secs

def halves(ds, dets: dict, scale: float = 1.3) -> tuple[float, float]:
    "Privacy recall (boxes ×scale) on the even-numbered and the odd-numbered photos."
    from facemask.evaluate import score
    return tuple(score(ds[k::2], dets, scale=scale, shape="rect").privacy_recall for k in (0, 1))

def run(folder: Path = DEFAULT, presets=("fast", "auto", "thorough"), limit: int | None = None, stride: int = 1,
        cache: Path | None = None) -> list[dict]:
    "Score deface and the presets on one folder, all run live in turn on each photo; a list of rows in table order."
    from facemask.evaluate import evaluate, load_dataset, score
    from facemask import dnn
    ds = load_dataset(folder)[::stride][:limit]
    live = {DEFACE: deface_detector()}
    live.update({p: getattr(dnn, f"{p}_detector")() for p in presets if not cache or p == "fast"})
    dets, secs = timed_in_turn(ds, live)
    total = {n: sum(secs[n].values()) for n in live}
    scored = lambda n: (lambda **how: score(ds, dets[n], name=n, seconds=secs[n], **how))
    extra = lambda n: {"total s": total[n], "× deface": total[n] / total[DEFACE], "halves": halves(ds, dets[n])}
    rows = [dict(r, **extra(DEFACE)) for r in rows_of(DEFACE, scored(DEFACE), dict(mask=DefaceDrawn(1.3)))]
    for p in presets:
        drawn = dict(scale=dnn.ELLIPSE_MASK_SCALES[p], shape="ellipse")
        if p in live: rows += [dict(r, **extra(p)) for r in rows_of(f"facemask {p}", scored(p), drawn, dnn.MASK_SCALES[p])]
        else:  # `evaluate` runs the photos its cache lacks, then scores from the cache (timed in an earlier run)
            det = getattr(dnn, f"{p}_detector")()
            report = lambda **how: evaluate(det, ds, cache=Path(cache)/f"{p}.json", **how)
            rows += rows_of(f"facemask {p}", report, drawn, dnn.MASK_SCALES[p], timed="cache")
    return rows

COLS = ["privacy recall", "<16", "16-32", "32-64", "64-128", ">=128", "≥ 32", "false pos./image", "masked share", "s/image"]
HEAD = ["privacy recall", "< 16", "16–32", "32–64", "64–128", "≥ 128", "≥ 32 px", "false pos./image", "masked share", "s/image"]

def markdown(rows: list[dict], folder: Path, n_images: int, n_faces: int) -> str:
    out = []
    timed = any("× deface" in r for r in rows)
    for way in ("boxes ×1.3", "as drawn"):
        head = HEAD + (["total time × deface", "privacy recall, even / odd photos"] if timed and way == "boxes ×1.3" else [])
        out.append(f"**Covered = {way}**\n\n| detector | mask | " + " | ".join(head) + " |\n|---|---|" + "---|" * len(head))
        for r in (r for r in rows if r["coverage"] == way):
            cells = [f"{r[c]:.3f}" if c in ("privacy recall", "masked share", "≥ 32") else f"{r[c]:.2f}" for c in COLS]
            if r["timed"] == "cache": cells[-1] += "†"
            if timed and way == "boxes ×1.3":
                cells += [f"{r['× deface']:.2f}×", "{:.3f} / {:.3f}".format(*r["halves"])] if "× deface" in r else ["–", "–"]
            out.append(f"| {r['detector']} | {r['mask']} | " + " | ".join(cells) + " |")
        out.append("")
    return ("\n".join(out) + f"\n{n_images} photos, {n_faces} faces from `{folder.name}`. Privacy recall: share of faces whose box is ≥ 90 % "
            "covered; false positives at IoU 0.5; masked share: mean share of each photo covered. *Boxes ×1.3*: every "
            "detection box grown ×1.3 about its centre (the issue's convention); *as drawn*: what each tool's default "
            "mask covers (deface: ellipses in its box grown 30 % on each side; facemask: round masks, ellipses ×1.45). "
            "s/image: median detection time per photo on 2 shared CPU cores; every detector ran in turn on each photo "
            "(the order rotating), so the machine's load weighs on all alike, and *total time × deface* is the sum of a "
            "detector's times over all photos divided by deface's in the same run"
            + ("; † from an earlier run (the `facemask evaluate` cache or `--earlier`), timed then (noisier)" if any(r["timed"] == "cache" for r in rows) else "")
            + ".\n")

# ---------------------------------------------------------------- the time–recall frontier
def frontier_configs() -> dict:
    "Every configuration tried for `auto`, by name: a function that builds it."
    from facemask.dnn import CenterFace as CF, GrowSmall, MultiScale
    def ms(zoom="fp32", focus=None, first="fp32", zoom_t=0.25, margin=32):
        return lambda: GrowSmall(MultiScale(CF(0.35, big_threshold=0.15, precision=first), upscale=2.0,
                                            max_face=40, zoom_detector=CF(zoom_t, precision=zoom),
                                            focus=focus, margin=margin), below=40)
    one = lambda prec: (lambda: GrowSmall(MultiScale(CF(0.2, big_threshold=0.15, precision=prec), upscale=1.0),
                                          below=48))
    return {"one pass, fp32": one("fp32"), "one pass, int8 (`fast`)": one("int8"),
            "×2 everywhere, fp32": ms(),
            "×2 where heat > 0.05, fp32 (`auto` before)": ms(focus=0.05),
            "×2 where heat > 0.05, int8 first pass (`auto`)": ms(focus=0.05, first="int8"),
            "×2 where heat > 0.1, int8 first pass": ms(focus=0.1, first="int8"),
            "×2 where heat > 0.02, int8 first pass": ms(focus=0.02, first="int8"),
            "×2 where heat > 0.05, int8 zoom": ms("int8", 0.05),
            "×2 where heat > 0.05, all int8": ms("int8", 0.05, "int8"),
            "×2 where heat > 0.05, all int8, zoom at 0.22": ms("int8", 0.05, "int8", 0.22)}

def frontier(folder: Path = DEFAULT, stride: int = 3, names: list[str] | None = None) -> list[dict]:
    "Time (relative to deface, run in turn on each photo) and privacy recall of every configuration tried."
    from facemask.evaluate import load_dataset, score
    ds = load_dataset(folder)[::stride]
    configs = frontier_configs()
    live = {DEFACE: deface_detector(), **{n: configs[n]() for n in (names or configs)}}
    dets, secs = timed_in_turn(ds, live, "photos (frontier)")
    total = {n: sum(secs[n].values()) for n in live}
    rows = []
    for n in live:
        r = score(ds, dets[n], scale=1.3, shape="rect")
        rows.append({"config": n, "× deface": total[n] / total[DEFACE], "privacy recall": r.privacy_recall,
                     "<16": r.privacy_by_size["<16"], "false pos./image": r.fp_per_image, "masked share": r.masked_share,
                     "halves": halves(ds, dets[n]), "photos": len(ds)})
    return rows

def frontier_markdown(rows: list[dict]) -> str:
    out = ["| configuration | time × deface | privacy recall | < 16 px | false pos./image | masked share | even / odd photos |",
           "|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r["× deface"]):
        out.append(f"| {r['config']} | {r['× deface']:.2f} | {r['privacy recall']:.3f} | {r['<16']:.2f} | "
                   f"{r['false pos./image']:.2f} | {r['masked share']:.3f} | {r['halves'][0]:.3f} / {r['halves'][1]:.3f} |")
    return ("\n".join(out) + f"\n\nEvery {'' if rows[0]['photos'] > 200 else 'third '}photo of faces-dev ({rows[0]['photos']} photos), "
            "all configurations and deface in turn on each photo (the order rotating); time × deface: total detection time "
            "over deface's in the same run; privacy recall with boxes ×1.3.\n")

# ---------------------------------------------------------------- big photos: time and peak memory, one process each
def big_crowd(w: int, h: int, heights=(12, 16, 20, 24, 32, 40, 56, 80)) -> tuple[np.ndarray, np.ndarray]:
    "bench.py's synthetic photo with three rows of small faces (the astronaut at `heights` px) pasted low down."
    import cv2
    from bench import synthetic
    from facemask.core import sample_image
    img, astro, boxes = synthetic(w, h), sample_image("astronaut"), []
    x, y = 100, int(h * 0.9)
    for fh in heights * 3:
        s = fh / 120                                        # her face is ~120 px tall in the 512 px photo
        small = cv2.resize(astro, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        if x + small.shape[1] > w - 50: x, y = 100, y - 300
        img[y - small.shape[0]:y, x:x + small.shape[1]] = small
        boxes.append(np.array([182, 58, 270, 178]) * s + [x, y - small.shape[0], x, y - small.shape[0]])
        x += small.shape[1] + 80
    return np.ascontiguousarray(img), np.array(boxes, np.float32)

BIG_CHILD = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import vs_deface as vs
from bench import synthetic
from facemask.core import box_iou
name, w, h = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if name == "deface": det = vs.deface_detector()
else:
    from facemask import dnn
    det = getattr(dnn, f"{name}_detector")()
det(synthetic(640, 480))                                   # load the model outside the timing
img, truth = vs.big_crowd(w, h)
times = []
for _ in range(2):
    t = time.perf_counter(); f = det(img); times.append(time.perf_counter() - t)
hit = box_iou(truth, f.xyxy).max(1) >= 0.3 if len(f) else np.zeros(len(truth), bool)
small = (truth[:, 3] - truth[:, 1]) < 32
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps(dict(seconds=min(times), faces=len(f), found=int(hit.sum()), of=len(truth),
                      small_found=int(hit[small].sum()), small_of=int(small.sum()), peak_mb=hwm / 1024)))
"""

def big_photos(sizes=((4000, 3000), (6000, 4000)), names=("deface", "fast", "auto")) -> list[dict]:
    "Seconds per call (best of two, model loaded) and peak memory of a fresh process per detector and size."
    import subprocess
    rows = []
    for w, h in sizes:
        for n in names:
            p = subprocess.run([sys.executable, "-c", BIG_CHILD, str(ROOT/"bench"), n, str(w), str(h)],
                               capture_output=True, text=True)
            r = json.loads(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else dict(error=p.stderr.strip()[-200:])
            rows.append(dict(detector=n, size=f"{w}×{h}", **r))
            print(f"  {w}×{h} {n}: {r}", file=sys.stderr, flush=True)
    return rows

def big_markdown(rows: list[dict]) -> str:
    out = ["| photo | detector | seconds per photo | × deface | peak memory | pasted faces found | of them < 32 px | "
           "detections |", "|---|---|---|---|---|---|---|---|"]
    base = {r["size"]: r["seconds"] for r in rows if r["detector"] == "deface" and "seconds" in r}
    for r in rows:
        if "seconds" not in r: out.append(f"| {r['size']} | {r['detector']} | failed | | | | | |"); continue
        found = f"{r['found']} / {r['of']}" if "found" in r else "–"
        small = f"{r['small_found']} / {r['small_of']}" if "small_found" in r else "–"
        out.append(f"| {r['size']} | {r['detector']} | {r['seconds']:.2f} | {r['seconds'] / base[r['size']]:.2f} | "
                   f"{r['peak_mb'] / 1024:.2f} GB | {found} | {small} | {r['faces']} |")
    return ("\n".join(out) + "\n\nSynthetic photos: bench.py's (the two sample photos pasted at four sizes on a blurred "
            "sample background) with three rows of the astronaut's face pasted at 12–80 px (`big_crowd`); a pasted face "
            "counts as found at IoU ≥ 0.3; detections include false alarms (the cap badge of Grace Hopper's portrait draws "
            "some). One fresh process per cell, the model loaded and warmed up on a small photo first; seconds: the better "
            "of two calls; peak memory: the process's VmHWM.\n")

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default=str(DEFAULT), help="annotated folder (default: %(default)s)")
    ap.add_argument("--presets", default="fast,auto,thorough", help="facemask presets to compare (comma-separated)")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N images (after --stride)")
    ap.add_argument("--stride", type=int, default=1, help="use every k-th image")
    ap.add_argument("--earlier", default="", help="presets whose rows are kept from the JSON beside --out (an "
                                                    "earlier run; marked †), comma-separated")
    ap.add_argument("--cache", default=None, help="folder of `evaluate` caches (NAME.json) to reuse for auto/thorough")
    ap.add_argument("--out", default=str(ROOT/"bench"/"results"/"vs_deface.md"), help="markdown file to write")
    ap.add_argument("--table-only", action="store_true", help="only rewrite the table from the .json beside --out")
    ap.add_argument("--frontier", action="store_true", help="time and privacy recall of every configuration tried "
                                                             "(every --stride-th photo, default 3) -> bench/results/frontier.md")
    ap.add_argument("--big", action="store_true", help="time and peak memory on synthetic 4000×3000 and 6000×4000 photos "
                                                        "-> a section of bench/results/vs_deface.md")
    a = ap.parse_args(argv)
    if a.frontier:
        rows = frontier(Path(a.folder), a.stride if a.stride > 1 else 3)
        md = frontier_markdown(rows); print(md)
        out = ROOT/"bench"/"results"/"frontier.md"
        out.write_text("# Time against privacy recall: every configuration tried for `auto`\n\n" + md)
        out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
        return rows
    if a.big:
        rows = big_photos(); md = big_markdown(rows); print(md)
        out = Path(a.out)
        out.with_name("vs_deface-big.json").write_text(json.dumps(rows, indent=1))
        return rows
    folder = Path(a.folder)
    if not (folder/"annotations.json").exists(): sys.exit(f"{folder}: no annotations.json here; give an annotated folder")
    out = Path(a.out)
    if a.table_only: rows = json.loads(out.with_suffix(".json").read_text())
    else:
        earlier = [f"facemask {p}" for p in a.earlier.split(",") if p]
        old = json.loads(out.with_suffix(".json").read_text()) if earlier else []
        rows = run(folder, [p for p in a.presets.split(",") if p], a.limit, a.stride, a.cache)
        rows += [dict(r, timed="cache") for r in old if r["detector"] in earlier]
    ann = json.loads((folder/"annotations.json").read_text())[::a.stride][:a.limit]
    md = markdown(rows, folder, len(ann), sum(len(x["faces"]) for x in ann))
    big = out.with_name("vs_deface-big.json")
    if big.exists(): md += "\n**Big photos**\n\n" + big_markdown(json.loads(big.read_text()))
    print(md)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md); out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    return rows

if __name__ == "__main__": main()
