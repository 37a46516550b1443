#!/usr/bin/env python
"""Load test of the web API (`facemask serve`) on loopback: throughput, latency, refusals and server memory.

    uv run python bench/serve_load.py                          # fast and auto, 200 requests at 10 and 20 clients
    uv run python bench/serve_load.py --detectors fast,auto --requests 200,100   # fewer for the slow one
    uv run python bench/serve_load.py --detectors fast --requests 100 --clients 10

For each detector, one server (a separate process started with `facemask.serve.main_serve`, default settings:
one photo at a time with every core, 8 waiting) is sent N requests of a 1280×720 JPEG by C client threads at
once; a client that gets 503 waits the Retry-After it was given and sends the photo again, so every photo is
done. Measured: photos/s, p50/p95 latency of the successful requests, the count of 503s (the server refusing
what it cannot hold) and of any other error (should be 0), and the server's resident memory (VmRSS sampled
every 0.2 s; VmHWM at the end). Baseline, in this process: `anonymize()` on the same photo in a loop, photos/s;
the API's ratio to it is the cost of HTTP, encoding and the queue. Writes bench/results/serve.md and .json.
"""
from __future__ import annotations

import argparse, datetime, io, json, os, socket, statistics, subprocess, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench import machine, synthetic  # noqa: E402  the same synthetic photos as bench.py

RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"): return int(line.split()[1])
    return 0


def baseline(detector: str, photo: bytes, seconds: float = 20.0) -> float:
    "Photos/s of `anonymize()` in this process (model loaded, photo decoded each time as the server does)."
    from facemask.core import encode_image, read_rgb
    from facemask.pipeline import anonymize, get_detector, get_mask
    det, mask = get_detector(detector), get_mask("emoji")
    anonymize(read_rgb(photo), det, mask)  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or n < 3:
        masked, _ = anonymize(read_rgb(photo), det, mask)
        encode_image(masked, "JPEG")
        n += 1
    return n / (time.perf_counter() - t0)


def run_load(base: str, detector: str, photo: bytes, requests: int, clients: int) -> dict:
    latencies, codes, lock = [], {}, threading.Lock()
    todo = iter(range(requests))
    def client():
        with httpx.Client(base_url=base, timeout=300) as c:
            while True:
                with lock: i = next(todo, None)
                if i is None: return
                while True:
                    t0 = time.perf_counter()
                    try:
                        r = c.post("/v1/anonymize", params={"detector": detector}, content=photo)
                        code = r.status_code
                    except httpx.HTTPError as e: code = type(e).__name__
                    with lock: codes[code] = codes.get(code, 0) + 1
                    if code == 503:
                        time.sleep(float(r.headers.get("retry-after", 1)))
                        continue
                    if code == 200:
                        with lock: latencies.append(time.perf_counter() - t0)
                    break
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(client) for _ in range(clients)]: f.result()
    wall = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else [float("nan")] * 19
    return dict(clients=clients, requests=requests, ok=len(latencies), wall_s=round(wall, 2),
                photos_per_s=round(len(latencies) / wall, 3), p50_s=round(statistics.median(latencies), 3),
                p95_s=round(q[18], 3), refused_503=codes.get(503, 0),
                other_errors=sum(v for k, v in codes.items() if k not in (200, 503)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--detectors", default="fast,auto")
    p.add_argument("--requests", default="200", help="requests per run; or one number per detector: 200,100")
    p.add_argument("--clients", default="10,20")
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--queue", type=int, default=8)
    p.add_argument("--baseline-seconds", type=float, default=20)
    p.add_argument("--out", default=str(RESULTS / "serve.md"))
    a = p.parse_args(argv)
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(synthetic(1280, 720)).save(buf, "JPEG", quality=90)
    photo = buf.getvalue()
    header = (f"# Web API under load\n\n{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
              f"{machine()}\n\n`{' '.join(['python', 'bench/serve_load.py', *(argv or sys.argv[1:])])}`\n\n"
              f"Server: `--concurrency {a.concurrency} --queue {a.queue}`; photo: synthetic 1280×720 JPEG "
              f"({len(photo) / 1e3:.0f} kB); a 503 is retried after its Retry-After.\n")
    print(header, file=sys.stderr)
    runs, detectors = [], a.detectors.split(",")
    counts = [int(n) for n in a.requests.split(",")]
    counts = dict(zip(detectors, counts if len(counts) == len(detectors) else counts[:1] * len(detectors)))
    for detector in detectors:
        base_rate = baseline(detector, photo, a.baseline_seconds)
        print(f"{detector}: anonymize() in-process {base_rate:.2f} photos/s", file=sys.stderr)
        port = free_port()
        cmd = "import sys; from facemask.serve import main_serve; sys.exit(main_serve(sys.argv[1:]))"
        server = subprocess.Popen([sys.executable, "-c", cmd, "--port", str(port), "--concurrency",
                                   str(a.concurrency), "--queue", str(a.queue)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200: break
                except httpx.TransportError: time.sleep(0.1)
            httpx.post(f"{base}/v1/anonymize", params={"detector": detector}, content=photo, timeout=300)  # load
            rss, stop = [], threading.Event()
            def sample():
                while not stop.is_set():
                    rss.append(status_kb(server.pid, "VmRSS") / 1024)
                    stop.wait(0.2)
            monitor = threading.Thread(target=sample)
            monitor.start()
            for clients in map(int, a.clients.split(",")):
                n0 = len(rss)
                r = run_load(base, detector, photo, counts[detector], clients)
                part = rss[n0:] or [0]
                r.update(detector=detector, baseline_photos_per_s=round(base_rate, 3),
                         ratio=round(r["photos_per_s"] / base_rate, 3),
                         rss_start_mb=round(part[0]), rss_end_mb=round(part[-1]), rss_max_mb=round(max(part)))
                print(r, file=sys.stderr)
                runs.append(r)
            stop.set()
            monitor.join()
            hwm = status_kb(server.pid, "VmHWM") / 1024
            for r in runs:
                if r["detector"] == detector: r["server_peak_mb"] = round(hwm)
        finally:
            server.terminate()
            server.wait(timeout=30)
    head = ["detector", "clients", "photos", "photos/s", "in-process anonymize() photos/s", "API / in-process",
            "p50 s", "p95 s", "503 (retried)", "other errors", "server RSS start → end MB", "server peak MB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        lines.append("| " + " | ".join(map(str, [
            r["detector"], r["clients"], r["ok"], r["photos_per_s"], r["baseline_photos_per_s"], f"{r['ratio']:.2f}×",
            r["p50_s"], r["p95_s"], r["refused_503"], r["other_errors"],
            f"{r['rss_start_mb']} → {r['rss_end_mb']}", r["server_peak_mb"]])) + " |")
    md = header + "\n" + "\n".join(lines) + "\n"
    print(md)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md)
    out.with_suffix(".json").write_text(json.dumps({"header": header, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
