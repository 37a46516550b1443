#!/usr/bin/env python
"""Speed and memory benchmark of facemask's detectors, `anonymize()` and the CLI: prints markdown tables.

    uv run python bench/bench.py                      # everything (about 10 minutes on 2 idle cores)
    uv run python bench/bench.py --quick              # fewer sizes, detectors and repeats (a few minutes)
    uv run python bench/bench.py --detectors yunet,hog --sizes 640x480,1920x1080

Four tables, each printed as soon as it is done and all written to bench/results/bench.md (see bench/README.md):
1. seconds per image per detector and image size, "per call" (median of repeated calls on a loaded detector, after a
   warm-up) and "whole run" (a fresh `python` process that imports facemask, loads the detector and runs N images:
   wall time / N, so start-up and model loading are included);
2. peak memory (VmHWM, the process's own peak RSS, of those whole-run processes) at 1920×1080 and 4000×3000;
3. the overhead of `anonymize()` (detector + emoji mask) over the bare detector call, A/B interleaved;
4. throughput of the `facemask` command over a folder of JPEGs with --workers 1 and 2.
Timings are printed, never asserted: the machine's other load moves them. Test images are synthetic: the two freely
licensed sample photos pasted at several sizes onto a resized sample background, so every size has faces.
"""
from __future__ import annotations

import argparse, datetime, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT/"bench"/"results"/"bench.md"
SIZES = [(640, 480), (1280, 720), (1920, 1080), (4000, 3000)]
QUICK_SIZES = [(640, 480), (1920, 1080)]
QUICK_DETECTORS = ["yunet", "centerface", "fast", "hog", "auto"]
SKIP_ABOVE = 60.0  # seconds per call: estimated slower calls are skipped
FACEMASK = Path(sys.executable).with_name("facemask")

def size_name(wh) -> str: return f"{wh[0]}×{wh[1]}"

def synthetic(w: int, h: int, seed: int = 0) -> np.ndarray:
    "A (h, w, 3) RGB test image: a blurred, resized sample as background with both sample faces pasted at several sizes."
    import cv2
    from facemask.core import sample_image
    rng = np.random.default_rng(seed)
    astro, grace = sample_image("astronaut"), sample_image("grace_hopper")
    img = cv2.GaussianBlur(cv2.resize(grace, (w, h), interpolation=cv2.INTER_AREA), (0, 0), max(w, h)/150)
    # pasted portraits: heights as shares of the image height (the faces are about a third to a half of each)
    for src, share, x in [(astro, 0.55, 0.03), (grace, 0.40, 0.40), (astro, 0.22, 0.72), (grace, 0.14, 0.72)]:
        ph = max(24, int(h*share)); pw = max(20, int(ph*src.shape[1]/src.shape[0]))
        patch = cv2.resize(src, (pw, ph), interpolation=cv2.INTER_AREA if ph < src.shape[0] else cv2.INTER_LINEAR)
        x0 = min(w - pw, int(w*x + rng.integers(0, max(1, w//50))))
        y0 = int(rng.integers(0, max(1, h - ph))) if share < 0.5 else (h - ph)//2
        img[y0:y0 + ph, x0:x0 + pw] = patch
    return np.ascontiguousarray(img)

def machine() -> str:
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor() or "?") if Path("/proc/cpuinfo").exists() else platform.processor()
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}), {cpu}; load average at start {load}"

def table(head: list[str], rows: list[list]) -> str:
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
                     + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])

def fmt(s: float | None) -> str:
    if s is None: return "–"
    return f"{s*1000:.0f} ms" if s < 1 else f"{s:.2f} s" if s < 10 else f"{s:.1f} s"

# ---------------------------------------------------------------- 1. per call
def per_call(names, sizes, images, quick) -> dict:
    "Median seconds per call, per detector and size, on a loaded detector after one warm-up call."
    from facemask.pipeline import get_detector
    res = {}
    for name in names:
        det = get_detector(name); last = None  # (pixels, seconds) of the previous size, to estimate the next
        t0 = time.perf_counter(); det(images[sizes[0]]); load = time.perf_counter() - t0  # loads the model
        for wh in sizes:
            img = images[wh]
            est = load if last is None else last[1]*(wh[0]*wh[1])/last[0]  # the first call (model load included) warms up the first size
            if last is not None and est > SKIP_ABOVE:
                res[name, wh] = dict(skipped=f"skipped: >{SKIP_ABOVE:.0f} s (est. {est:.0f} s)"); continue
            if est < 3 and last is not None: det(img)  # warm-up at this size (new input shapes can cost a first call)
            budget = (4 if quick else 10) if wh[0] < 3000 else (6 if quick else 15)
            times = []
            while True:
                t = time.perf_counter(); faces = det(img); times.append(time.perf_counter() - t)
                if len(times) >= (5 if quick else 9) or sum(times) > budget or (len(times) >= 2 and sum(times) > budget/2): break
            med = statistics.median(times); last = (wh[0]*wh[1], med)
            res[name, wh] = dict(seconds=med, repeats=len(times), faces=len(faces), first_call=load if wh == sizes[0] else None)
        print(f"  per call {name}: " + ", ".join(f"{size_name(wh)} {fmt(res[name, wh].get('seconds')) if 'seconds' in res[name, wh] else res[name, wh]['skipped']}"
                                                 for wh in sizes), file=sys.stderr, flush=True)
    return res

# ---------------------------------------------------------------- 1b/2. whole run and memory, one process per cell
CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import numpy as np
from facemask.pipeline import get_detector
name, files = sys.argv[1], sys.argv[2:]
det = get_detector(name)
t1 = time.perf_counter(); nfaces = []
for f in files: nfaces.append(len(det(np.load(f))))
t2 = time.perf_counter()
try:  # VmHWM: this process's own peak RSS (ru_maxrss is inherited from the parent across fork + exec on Linux)
    hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
except OSError: hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(dict(import_s=t1 - t0, run_s=t2 - t1, faces=nfaces, maxrss_kb=hwm)))
"""

def whole_run(names, sizes, files, per: dict, quick) -> dict:
    "Wall seconds / N of a fresh process importing facemask, loading the detector and running N images; its peak RSS."
    res = {}
    for name in names:
        for wh in sizes:
            pc = per.get((name, wh), {})
            if "skipped" in pc: res[name, wh] = dict(skipped=pc["skipped"]); continue
            s = pc.get("seconds", 1.0)
            n = 1 if s > 5 or quick and s > 1 else 2 if s > 1 or quick else 3
            t = time.perf_counter()
            p = subprocess.run([sys.executable, "-c", CHILD, name, *[str(files[wh])]*n], capture_output=True, text=True)
            wall = time.perf_counter() - t
            if p.returncode: res[name, wh] = dict(skipped=f"failed: {p.stderr.strip().splitlines()[-1][:80]}"); continue
            out = json.loads(p.stdout.strip().splitlines()[-1])
            res[name, wh] = dict(seconds=wall/n, n=n, maxrss_mb=out["maxrss_kb"]/1024, faces=out["faces"][0])
        print(f"  whole run {name}: " + ", ".join(f"{size_name(wh)} " + (fmt(res[name, wh]['seconds']) + f" ({res[name, wh]['maxrss_mb']:.0f} MB)"
                                                  if "seconds" in res[name, wh] else res[name, wh]["skipped"]) for wh in sizes),
              file=sys.stderr, flush=True)
    return res

# ---------------------------------------------------------------- 3. anonymize() overhead
def overhead(name: str, img: np.ndarray, pairs: int) -> dict:
    "A/B interleaved: `det(img)` against `anonymize(img, det, mask)`; also the mask call alone."
    from facemask.pipeline import anonymize, get_detector, get_mask
    det, mask = get_detector(name), get_mask("emoji")
    faces = det(img); anonymize(img, detector=det, mask=mask)  # warm-up both paths (model, emoji images)
    a, b, m = [], [], []
    for i in range(pairs):
        for which in ((0, 1) if i % 2 == 0 else (1, 0)):
            t = time.perf_counter()
            if which == 0: det(img)
            else: anonymize(img, detector=det, mask=mask)
            (a if which == 0 else b).append(time.perf_counter() - t)
        t = time.perf_counter(); mask(img, faces); m.append(time.perf_counter() - t)
    da, db, dm = statistics.median(a), statistics.median(b), statistics.median(m)
    r = dict(detector=name, size=img.shape[1::-1], faces=len(faces), pairs=pairs, bare=da, anonymize=db, mask=dm,
             ratio=db/da - 1, mask_share=dm/da)
    print(f"  overhead {name}: bare {fmt(da)}, anonymize {fmt(db)} ({r['ratio']:+.1%}), mask alone {fmt(dm)} ({dm/da:.1%})",
          file=sys.stderr, flush=True)
    return r

# ---------------------------------------------------------------- 4. CLI throughput
def cli_throughput(detector: str, folder: Path, n: int, workers: int, tmp: Path, one_thread: bool = False) -> dict:
    "Run the `facemask` command over `folder`; with `one_thread`, the single process is held to one core (OMP_NUM_THREADS=1)."
    out = tmp/f"out-{detector}-{workers}{'-1t' if one_thread else ''}"
    shutil.rmtree(out, ignore_errors=True)
    import resource
    env = {**os.environ, "OMP_NUM_THREADS": "1"} if one_thread else None
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN); t = time.perf_counter()
    p = subprocess.run([str(FACEMASK), str(folder), "-o", str(out), "--detector", detector, "--workers", str(workers), "-q"],
                       capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t; c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cores = (c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)/wall  # CPU seconds per wall second (pool workers included)
    summary = (p.stderr.strip().splitlines() or ["?"])[-1]
    r = dict(detector=detector, workers=workers, n=n, wall=wall, ips=n/wall, cores=cores, rc=p.returncode, summary=summary)
    print(f"  cli {detector} --workers {workers}{' (one thread)' if one_thread else ''}: {n} images in {wall:.1f} s = {n/wall:.2f} images/s, {cores:.2f} cores busy  [{summary}]",
          file=sys.stderr, flush=True)
    return r

# ---------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 sizes, 5 detectors, fewer repeats, 40 CLI images")
    ap.add_argument("--detectors", help="comma-separated names from facemask.pipeline.DETECTORS (default: all; --quick: "
                                        + ",".join(QUICK_DETECTORS) + ")")
    ap.add_argument("--sizes", help="comma-separated WxH, e.g. 640x480,1920x1080")
    ap.add_argument("--cli-images", type=int, help="images in the CLI folder (default 100; --quick 40)")
    ap.add_argument("--cli-detectors", default="fast", help="detectors for the CLI throughput table (default fast)")
    ap.add_argument("--skip", default="", help="comma-separated tables to skip: speed,overhead,cli")
    ap.add_argument("-o", "--out", type=Path, default=OUT, help=f"markdown file to write (default {OUT.relative_to(ROOT)})")
    args = ap.parse_args(argv)
    from facemask.pipeline import DETECTORS
    names = args.detectors.split(",") if args.detectors else (QUICK_DETECTORS if args.quick else list(DETECTORS))
    unknown = [n for n in names if n not in DETECTORS]
    if unknown: ap.error(f"unknown detector(s) {unknown}; choose from {list(DETECTORS)}")
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",")] if args.sizes else (QUICK_SIZES if args.quick else SIZES)
    n_cli = args.cli_images or (40 if args.quick else 100)
    skip = set(filter(None, args.skip.split(",")))
    started = datetime.datetime.now(datetime.timezone.utc)
    mach = machine()
    print(f"# facemask benchmark\nmachine: {mach}\n", flush=True)
    sections = [f"# facemask benchmark\n\n- date: {started:%Y-%m-%d %H:%M} UTC\n- machine: {mach}\n"
                f"- the machine was **shared** with other jobs while this ran: timings are noisy (compare rows, not runs)\n"
                f"- python {platform.python_version()}, command: `python bench/bench.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n"
                f"- test images: synthetic (the two sample photos pasted at several sizes on a blurred sample background)\n"]

    def emit(md: str):
        print(md + "\n", flush=True); sections.append(md)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n\n".join(sections) + "\n")

    with tempfile.TemporaryDirectory(prefix="facemask-bench-") as tmp:
        tmp = Path(tmp)
        images = {wh: synthetic(*wh) for wh in sizes}
        files = {}
        for wh, img in images.items(): files[wh] = tmp/f"{wh[0]}x{wh[1]}.npy"; np.save(files[wh], img)

        if "speed" not in skip:
            print("speed (per call) ...", file=sys.stderr, flush=True)
            per = per_call(names, sizes, images, args.quick)
            print("speed (whole run, one process per cell) ...", file=sys.stderr, flush=True)
            whole = whole_run(names, sizes, files, per, args.quick)
            head = ["detector", "faces"] + [f"{size_name(wh)} per call" for wh in sizes] + [f"{size_name(wh)} whole run" for wh in sizes]
            def cell(r):
                return r["skipped"] if "skipped" in r else fmt(r["seconds"]) + (f" (×{r['repeats']})" if "repeats" in r else f" (N={r['n']})")
            rows = [[n, "/".join(str(per[n, wh].get("faces", "–")) for wh in sizes)]
                    + [cell(per[n, wh]) for wh in sizes] + [cell(whole[n, wh]) for wh in sizes] for n in names]
            emit("## 1. Seconds per image\n\nPer call: median over (×repeats) calls of an already loaded detector after a "
                 "warm-up. Whole run: wall time of a fresh process (import, load the model, run N images) / N. "
                 "Faces: found per size (the synthetic images hold 4 faces, the smallest about 5 % of the image height). "
                 f"Cells estimated above {SKIP_ABOVE:.0f} s per call are skipped.\n\n" + table(head, rows))
            msizes = [wh for wh in sizes if wh in [(1920, 1080), (4000, 3000)]] or sizes[-1:]
            rows = [[n] + [f"{whole[n, wh]['maxrss_mb']:.0f} MB" if "maxrss_mb" in whole[n, wh] else whole[n, wh]["skipped"] for wh in msizes]
                    for n in names]
            emit("## 2. Peak memory\n\nPeak resident memory (VmHWM from /proc/self/status, i.e. the process's own `ru_maxrss`) of the whole-run process: Python, numpy, OpenCV, "
                 "the detector's model and N images of that size.\n\n" + table(["detector"] + [size_name(wh) for wh in msizes], rows))

        if "overhead" not in skip:
            print("anonymize() overhead ...", file=sys.stderr, flush=True)
            fast = next((n for n in ("yunet", "centerface") if n in DETECTORS), names[0])
            img720 = images.get((1280, 720)) if (1280, 720) in images else synthetic(1280, 720)
            img480 = images.get((640, 480)) if (640, 480) in images else synthetic(640, 480)
            ov = [overhead(fast, img720, 6 if args.quick else 15), overhead("auto", img480, 3 if args.quick else 6)]
            rows = [[o["detector"], size_name(o["size"]), o["faces"], o["pairs"], fmt(o["bare"]), fmt(o["anonymize"]),
                     f"{o['ratio']:+.1%}", fmt(o["mask"]), f"{o['mask_share']:.1%}", "yes" if o["ratio"] < 0.10 else "**no**"] for o in ov]
            emit("## 3. Overhead of `anonymize()` over the bare detector call\n\nSame process, same image, A/B calls "
                 "interleaved (pairs), medians. `anonymize(img, detector=det, mask=emoji)` = detection + emoji mask; "
                 "\"mask alone\" times the mask call by itself, the steadier estimate of the same overhead on a busy "
                 "machine. Target: under 10 %.\n\n"
                 + table(["detector", "size", "faces", "pairs", "bare call", "anonymize()", "overhead", "mask alone",
                          "mask / bare", "< 10 %"], rows))

        if "cli" not in skip:
            print(f"CLI throughput ({n_cli} JPEGs at 1280×720) ...", file=sys.stderr, flush=True)
            from facemask.core import save_image
            folder = tmp/"cli-in"; folder.mkdir()
            for i in range(n_cli): save_image(synthetic(1280, 720, seed=i), folder/f"img{i:03d}.jpg")
            rows = []
            for det in args.cli_detectors.split(","):
                r1 = cli_throughput(det, folder, n_cli, 1, tmp); r2 = cli_throughput(det, folder, n_cli, 2, tmp)
                r1t = cli_throughput(det, folder, n_cli, 1, tmp, one_thread=True)
                ratio = r2["ips"]/r1["ips"]
                rows.append([det, n_cli, f"{r1['wall']:.1f} s", f"{r1['ips']:.2f}", f"{r1['cores']:.2f}",
                             f"{r2['wall']:.1f} s", f"{r2['ips']:.2f}", f"{r2['cores']:.2f}",
                             f"{ratio:.2f}×", "yes" if ratio >= 1.7 else "**no**",
                             f"{r1t['wall']:.1f} s ({r1t['cores']:.2f} cores)", f"{r2['ips']/r1t['ips']:.2f}×"])
                if r1["rc"] or r2["rc"] or r1t["rc"]: rows[-1].append(f"exit codes {r1['rc']}/{r2['rc']}/{r1t['rc']}: {r2['summary']}")
            emit(f"## 4. CLI throughput\n\n`facemask FOLDER -o OUT --detector D --workers N -q` over {n_cli} synthetic "
                 "1280×720 JPEGs, wall time including start-up, model loading and writing the masked JPEGs. Cores busy: CPU "
                 "seconds (user + system, all the command's processes) per wall second — 2.0 is both cores. "
                 "Target: 2 workers ≥ 1.7× one. A single worker already spreads each photo over both cores (ONNX Runtime's "
                 "and OpenCV's threads), so the last two columns add a single worker held to one thread "
                 "(OMP_NUM_THREADS=1), the baseline against which the process pool itself scales.\n\n"
                 + table(["detector", "images", "1 worker", "images/s", "cores busy", "2 workers", "images/s", "cores busy", "ratio", "≥ 1.7×",
                          "1 worker, 1 thread", "2 workers / that"], rows))
    took = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
    sections[0] += f"- the whole benchmark took {took/60:.1f} min\n"
    args.out.write_text("\n\n".join(sections) + "\n")
    print(f"written {args.out} ({took/60:.1f} min)", file=sys.stderr)
    return 0

if __name__ == "__main__":
    sys.exit(main())
