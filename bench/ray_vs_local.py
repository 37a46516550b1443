#!/usr/bin/env python
"""Ray Data against the local process pool: photos per second on the same folder, and the same detections.

    uv run python bench/ray_vs_local.py                  # 60 photos, fast, 1 and 2 workers each way
    uv run python bench/ray_vs_local.py --photos 20 --detector yunet

A folder of synthetic 1280×720 JPEGs (bench.py's, different seeds) is anonymized with the emoji mask by
`anonymize_files` (workers = 1: in this process, ONNX Runtime and OpenCV using every core; workers = 2: two spawned
processes of one thread each) and by `anonymize_files_ray` on a Ray started here with `num_cpus` = the machine's
CPUs (actors = 1 and 2, one thread each). Wall time covers everything after `plan_jobs`: starting the pool or the
actors, loading the models, every photo. `ray.init` is timed on its own. Baseline: local, 1 worker, same process.
The runs are interleaved (local ×1, Ray ×1, local ×2, Ray ×2) so that other load on the machine weighs on both.
Each run's `--json` report is compared with the baseline's. Writes bench/results/ray.md and .json.
"""
from __future__ import annotations

import argparse, datetime, json, os, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench import machine, synthetic  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=60)
    p.add_argument("--detector", default="fast")
    p.add_argument("--workers", default="1,2")
    p.add_argument("--out", default=str(RESULTS / "ray.md"))
    a = p.parse_args(argv)
    from facemask.core import save_image
    from facemask.pipeline import anonymize_files, plan_jobs, write_json
    from facemask.cluster import anonymize_files_ray
    tmp = Path(tempfile.mkdtemp(prefix="ray_vs_local."))
    folder = tmp / "photos"
    for i in range(a.photos): save_image(synthetic(1280, 720, seed=i), folder / f"{i:04d}.jpg")
    now = f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M}"
    command = " ".join(["python", "bench/ray_vs_local.py", *(argv or sys.argv[1:])])
    header = (f"# Ray Data against the local process pool\n\n{now} UTC, {machine()}\n\n`{command}`\n\n"
              f"{a.photos} synthetic 1280×720 JPEGs, detector `{a.detector}`, emoji mask.\n")
    print(header, file=sys.stderr)
    runs = []
    def run(backend: str, n: int, fn):
        out = tmp / f"{backend}-{n}"
        t0 = time.perf_counter()
        results = list(fn(plan_jobs([folder], out)))
        wall = time.perf_counter() - t0
        report = write_json(results, tmp / f"{backend}-{n}.json").read_text()
        r = dict(backend=backend, workers=n, photos=len(results), failed=sum(bool(x.error) for x in results),
                 wall_s=round(wall, 2), photos_per_s=round(len(results) / wall, 3),
                 cpu_s_per_photo=round(sum(x.seconds for x in results) / len(results), 3), report=report)
        print({k: v for k, v in r.items() if k != "report"}, file=sys.stderr)
        runs.append(r)
    workers = [int(w) for w in a.workers.split(",")]
    run("local", workers[0], lambda jobs: anonymize_files(jobs, a.detector, "emoji", workers=workers[0]))
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")  # before Ray is imported: it reads it then
    import ray
    t0 = time.perf_counter()
    for attempt in range(4):  # Ray's node start-up has fixed 15–30 s timeouts that a busy machine can miss
        try:
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
            break
        except Exception as e:
            print(f"ray.init failed ({e}); trying again", file=sys.stderr)
            ray.shutdown()
            if attempt == 3: raise
    init_s = time.perf_counter() - t0
    try:
        for n in workers:  # interleaved, so the machine's other load weighs on both backends alike
            if n != workers[0]: run("local", n, lambda jobs: anonymize_files(jobs, a.detector, "emoji", workers=n))
            run("ray", n, lambda jobs: anonymize_files_ray(jobs, a.detector, "emoji", actors=n))
    finally:
        ray.shutdown()
    base, base_report = runs[0], runs[0]["report"]
    for r in runs:
        r["ratio"] = round(r["photos_per_s"] / base["photos_per_s"], 3)
        r["same_detections"] = r.pop("report") == base_report
    head = ["backend", "workers", "photos", "failed", "wall s", "photos/s", "vs local ×1",
            "s per photo (in worker)", "same --json as local ×1"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        lines.append("| " + " | ".join(map(str, [r["backend"], r["workers"], r["photos"], r["failed"], r["wall_s"],
                     r["photos_per_s"], f"{r['ratio']:.2f}×", r["cpu_s_per_photo"],
                     "yes" if r["same_detections"] else "**no**"])) + " |")
    md = header + f"\n`ray.init` (a one-node Ray started here): {init_s:.1f} s, not in the wall times.\n\n" + \
        "\n".join(lines) + "\n"
    print(md)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md)
    out.with_suffix(".json").write_text(json.dumps({"header": header, "ray_init_s": round(init_s, 2), "runs": runs},
                                                   indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
