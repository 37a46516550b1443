"""Video: facemask against deface on clips with known face boxes in every frame.

Leak frames (some visible face < 90 % covered), frames per second at 720p and 1080p, peak memory for a 10 s and a
60 s clip, and checks on the outputs (frame count, duration, frame times, sound, location tag, rotation).
Writes bench/results/video.md and video.json.  Run: uv run --frozen python bench/video.py [--quick]
"""
import argparse, json, os, platform, subprocess, sys, tempfile, time
from pathlib import Path

import av
import cv2
import numpy as np

from facemask.track import covered_share, synthetic_clip
from facemask.video import probe_video, read_frames, write_clip

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PLACE = "+48.8584+002.2945/"
BIN = Path(sys.executable).parent

def log(*a): print(*a, file=sys.stderr, flush=True)

def make_clip(path: Path, n_frames: int, size_wh, fps=30, pts_s=None) -> Path:
    "A synthetic clip stored as a phone would: sideways with a rotation tag, AAC sound, the place and the camera."
    frames = (f.rgb for f in synthetic_clip(n_frames, size_wh))
    seconds = (pts_s[-1] + 1 / fps) if pts_s else n_frames / fps
    return write_clip(path, frames, fps=fps, pts_s=pts_s, tone_s=seconds, rotation=90,
                      metadata={"location": PLACE, "make": "Apple", "model": "iPhone 15"})

def measured(cmd: list[str]) -> dict:
    "Run a command; wall seconds and the peak resident memory of it and its children (MB)."
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
             "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode); "
             "sys.stderr.write(r.stderr[-2000:])")
    r = subprocess.run([sys.executable, "-c", probe, *map(str, cmd)], capture_output=True, text=True)
    secs, rss_kb, rc = r.stdout.split()[-3:]
    return {"seconds": float(secs), "peak_mb": int(rss_kb) / 1024, "returncode": int(rc), "stderr": r.stderr[-500:]}

def facemask_cmd(src, dst, detector="fast", mask="emoji", detect_every=1) -> list:
    code = ("import sys; from facemask.video import anonymize_video; "
            "anonymize_video(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], detect_every=int(sys.argv[5]))")
    return [sys.executable, "-c", code, src, dst, detector, mask, detect_every]

def deface_cmd(src, dst, solid=False) -> list:
    return [BIN / "deface", src, "-o", dst] + (["--replacewith", "solid"] if solid else [])

TOOLS = {  # name: (command maker for a leak run with solid black masks, for a speed run with default masks)
    "facemask fast": (lambda s, d: facemask_cmd(s, d, "fast", "solid"), lambda s, d: facemask_cmd(s, d, "fast")),
    "facemask fast (detect every 3rd)": (lambda s, d: facemask_cmd(s, d, "fast", "solid", 3),
                                        lambda s, d: facemask_cmd(s, d, "fast", "emoji", 3)),
    "facemask auto (default)": (lambda s, d: facemask_cmd(s, d, "auto", "solid"), lambda s, d: facemask_cmd(s, d, "auto")),
    "deface": (lambda s, d: deface_cmd(s, d, solid=True), lambda s, d: deface_cmd(s, d)),
}

def leak_frames(out: Path, n_frames: int, size_wh) -> dict:
    "Count frames where a visible face is < 90 % covered by black: overall, with a face partly hidden, and easy."
    frames = read_frames(out)
    leak = leak_easy = leak_hidden = 0
    for scene, (_, rgb) in zip(synthetic_clip(n_frames, size_wh), frames):
        if (rgb.shape[0] > rgb.shape[1]) != (scene.rgb.shape[0] > scene.rgb.shape[1]):
            return {"error": f"output is {rgb.shape[1]}×{rgb.shape[0]}, not upright"}
        if rgb.shape[:2] != scene.rgb.shape[:2]:  # deface (imageio) rescales to multiples of 16: scale back to score
            rgb = cv2.resize(rgb, scene.rgb.shape[1::-1], interpolation=cv2.INTER_NEAREST)
        black, bright = rgb.max(-1) < 40, scene.rgb.max(-1) >= 60  # dark pixels of the face cannot show a mask
        shares = [covered_share(b[None], black, (scene.owner == j) & bright)[0] for j, b in enumerate(scene.xyxy)]
        bad = [(v > 0.05) and not (s >= 0.9) for v, s in zip(scene.visible, shares)]
        easy = [(v > 0.99) and not h and (b[3] - b[1]) >= 32 for v, h, b in zip(scene.visible, scene.hard, scene.xyxy)]
        leak += any(bad)
        leak_hidden += any(b and v < 0.99 for b, v in zip(bad, scene.visible))
        leak_easy += any(b and e for b, e in zip(bad, easy))
    return {"leak_frames": leak, "leak_frames_partly_hidden": leak_hidden, "leak_frames_unoccluded_32px": leak_easy}

def checks(src: Path, out: Path) -> dict:
    "Frame count, duration, frame times, sound, place tag and rotation of an output against its input."
    if not out.exists(): return {"error": "no output"}
    a, b = probe_video(src), probe_video(out)
    def times(p):
        with av.open(str(p)) as c:
            v = c.streams.video[0]
            return np.array([float(f.pts * f.time_base) for f in c.decode(v)])
    ta, tb = times(src), times(out)
    raw = out.read_bytes()
    return {"frames": f"{b.n_frames or len(tb)} of {a.n_frames}",
            "duration_s": f"{b.duration_s:.3f} of {a.duration_s:.3f}",
            "frame_times_kept": bool(len(ta) == len(tb) and np.abs(ta - tb).max() < 1e-3),
            "sound": b.audio or "none",
            "place_removed": PLACE.encode() not in raw and not any("location" in k for k in b.metadata),
            "upright": (b.size_wh[0] > b.size_wh[1]) == (a.size_wh[0] > a.size_wh[1]),
            "size": f"{b.size_wh[0]}×{b.size_wh[1]} of {a.size_wh[0]}×{a.size_wh[1]}"}

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short clips (a smoke test of the script)")
    ap.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of: " + ", ".join(TOOLS))
    ap.add_argument("--sections", default="leaks,vfr,speed,memory",
                    help="what to measure; a subset updates those sections of the existing results file")
    args = ap.parse_args()
    tools = [t.strip() for t in args.tools.split(",")]
    q = args.quick
    tmp = Path(tempfile.mkdtemp(prefix="fm-video-"))
    sections = set(args.sections.split(","))
    old = json.loads((RESULTS / "video.json").read_text()) if sections != {"leaks", "vfr", "speed", "memory"} else {}
    res = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(),
           "load_at_start": os.getloadavg(), "machine": platform.processor() or platform.machine(),
           "command": "python bench/video.py" + (" --quick" if q else ""), "leaks": {}, "speed": {}, "memory": {},
           "checks": {}}
    for k in ("leaks", "checks", "leak_clip", "speed", "memory"):
        if k in old: res[k] = old[k]
    if old: res["command"] += f" --sections {args.sections}; earlier sections from {old['date']}"

    # 1. leak frames and output checks on a 10 s clip with known boxes
    n, size = (60 if q else 300), (640, 360)
    src = make_clip(tmp / "walk.mp4", n, size)
    res["leak_clip"] = {"frames": n, "size_wh": size, "fps": 30}
    for name in (tools if "leaks" in sections else []):
        out = tmp / f"leak-{name.replace(' ', '_').replace(',', '')}.mp4"
        log(f"leaks: {name}")
        run = measured(TOOLS[name][0](src, out))
        res["leaks"][name] = {**leak_frames(out, n, size), "seconds": round(run["seconds"], 1)} if out.exists() \
            else {"error": run["stderr"]}
        res["checks"][name] = checks(src, out)
        log(f"  {res['leaks'][name]}  {res['checks'][name]}")

    # 2. variable frame rate: do frame times survive?
    pts = list(np.cumsum([0] + [1 / 30 if i % 3 else 1 / 15 for i in range(59)]))
    vfr = make_clip(tmp / "vfr.mp4", 60, (320, 180), pts_s=pts)
    for name in (tools if "vfr" in sections else []):
        out = tmp / f"vfr-{name.replace(' ', '_').replace(',', '')}.mp4"
        measured(TOOLS[name][1](vfr, out))
        res["checks"][name]["vfr_frame_times_kept"] = checks(vfr, out).get("frame_times_kept", False)

    # 3. frames per second at 720p and 1080p, default masks, start-up included
    for wh in ([(1280, 720), (1920, 1080)] if "speed" in sections else []):
        frames = 30 if q else 60
        clip = make_clip(tmp / f"speed-{wh[1]}.mp4", frames, wh)
        for name in tools:
            nf = min(frames, 20) if "auto" in name else frames  # `auto` takes seconds per frame: fewer frames
            c = clip if nf == frames else make_clip(tmp / f"speed-{wh[1]}-short.mp4", nf, wh)
            log(f"speed {wh}: {name} ({nf} frames)")
            run = measured(TOOLS[name][1](c, tmp / f"speed-out-{wh[1]}-{nf}-{name.split()[-1]}.mp4"))
            ok = run["returncode"] == 0
            res["speed"].setdefault(name, {})[f"{wh[1]}p"] = {"frames": nf, "seconds": round(run["seconds"], 1),
                                                               "fps": round(nf / run["seconds"], 2) if ok else None,
                                                               "error": None if ok else run["stderr"][-300:]}
            log(f"  {res['speed'][name][f'{wh[1]}p']}")

    # 4. peak memory, 10 s and 60 s
    for secs in (([2, 6] if q else [10, 60]) if "memory" in sections else []):
        clip = make_clip(tmp / f"mem-{secs}.mp4", secs * 30, (320, 180))
        for name in [t for t in tools if "auto" not in t and "every" not in t]:
            log(f"memory {secs} s: {name}")
            run = measured(TOOLS[name][1](clip, tmp / f"mem-out-{secs}.mp4"))
            res["memory"].setdefault(name, {})[f"{secs} s"] = round(run["peak_mb"])
            log(f"  {run['peak_mb']:.0f} MB in {run['seconds']:.0f} s")
    write(res)

def write(res: dict):
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "video.json").write_text(json.dumps(res, indent=1))
    L = [f"# Video: facemask against deface", "",
         f"{res['date']}, {res['cpus']} CPUs ({res['machine']}), load average at start "
         f"{', '.join(f'{x:.1f}' for x in res['load_at_start'])}; `{res['command']}`", "",
         f"## Leak frames ({res['leak_clip']['frames']} frames, {res['leak_clip']['size_wh'][0]}×"
         f"{res['leak_clip']['size_wh'][1]}, solid black masks)", "",
         "| tool | leak frames | … with a face partly hidden (pillar, other face) | … with an unoccluded, sharp "
         "face ≥ 32 px | seconds |", "|---|---|---|---|---|"]
    for k, v in res["leaks"].items():
        L.append(f"| {k} | {v.get('leak_frames', v.get('error'))} | {v.get('leak_frames_partly_hidden', '')} | "
                 f"{v.get('leak_frames_unoccluded_32px', '')} | {v.get('seconds', '')} |")
    L += ["", "## Frames per second (default masks, start-up included)", "", "| tool | 720p | 1080p |", "|---|---|---|"]
    for k, v in res["speed"].items():
        L.append(f"| {k} | " + " | ".join(f"{v[p]['fps'] or 'failed'} ({v[p]['frames']} frames)" for p in ("720p", "1080p") if p in v) + " |")
    L += ["", "## Peak memory (MB, 320×180, default masks)", "", "| tool | " + " | ".join(next(iter(res["memory"].values()), {})) + " |",
          "|---|---|---|"]
    for k, v in res["memory"].items(): L.append(f"| {k} | " + " | ".join(str(x) for x in v.values()) + " |")
    L += ["", "## Output checks", "", "| tool | frames | duration (s) | frame times kept (CFR / VFR) | sound | place removed | upright | size |",
          "|---|---|---|---|---|---|---|---|"]
    for k, v in res["checks"].items():
        if "error" in v: L.append(f"| {k} | {v['error']} | | | | | |"); continue
        L.append(f"| {k} | {v['frames']} | {v['duration_s']} | {v['frame_times_kept']} / {v.get('vfr_frame_times_kept')} | "
                 f"{v['sound']} | {v['place_removed']} | {v['upright']} | {v['size']} |")
    (RESULTS / "video.md").write_text("\n".join(L) + "\n")
    print("\n".join(L))

if __name__ == "__main__":
    main()
