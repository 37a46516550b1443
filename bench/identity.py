"""How well dlib's face descriptors tell people apart, as facemask uses them (`facemask.identity`).

Positive pairs: the same face under changes a camera or an editor makes (scale, JPEG, brightness, rotation,
mirror, a shifted box), on the two free sample photos and on every face >= 80 px of faces-dev (ground-truth boxes).
Negative pairs: different faces of faces-dev (two people in one photo are two people).
Reports the true-accept rate (TAR) at false-accept rates (FAR) of 0.1 % and 1 %, the share of strangers `--keep`
would leave visible at the default threshold, clustering purity and completeness on a mixed folder, and descriptors
per second (one process, two processes, and the 5-point landmark model), as ratios to one process in this run.
Numbers only: no face crop is saved or shown.

    uv run --frozen python bench/identity.py [--data ../shared/data/faces-dev] [--limit N]
"""
from __future__ import annotations

import argparse, json, os, platform, sys, time
from pathlib import Path

import cv2
import numpy as np

from facemask.core import Faces, sample_image
from facemask.evaluate import dev_dataset, load_simple
from facemask.core import read_rgb
from facemask.identity import CLUSTER_THRESHOLD, KEEP_THRESHOLD, cluster, embed, face_distances

OUT = Path(__file__).parent / "results"
MIN_PX = 80


def crop_around(rgb, xyxy, pad=1.0):
    "A crop of the photo around a face (its box grown by `pad` box sizes each side) and the box inside it."
    x1, y1, x2, y2 = xyxy
    w, h = x2 - x1, y2 - y1
    H, W = rgb.shape[:2]
    cx1, cy1 = int(max(0, x1 - pad * w)), int(max(0, y1 - pad * h))
    cx2, cy2 = int(min(W, x2 + pad * w)), int(min(H, y2 + pad * h))
    return np.ascontiguousarray(rgb[cy1:cy2, cx1:cx2]), np.array([x1 - cx1, y1 - cy1, x2 - cx1, y2 - cy1], np.float32)


def jpeg(rgb, q):
    ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def rotate(rgb, box, deg):
    "The crop turned by `deg` degrees about the face centre; the box stays (the landmarks follow the face)."
    c = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    M = cv2.getRotationMatrix2D(c, deg, 1)
    return cv2.warpAffine(rgb, M, (rgb.shape[1], rgb.shape[0]), borderMode=cv2.BORDER_REFLECT), box


def variants(rgb, box):
    "The changes a positive pair undergoes: name -> (image, face box)."
    w = box[2] - box[0]
    def scale(k):
        im = cv2.resize(rgb, (max(1, round(rgb.shape[1] * k)), max(1, round(rgb.shape[0] * k))),
                        interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
        return im, box * k
    light = lambda k: (np.clip(rgb.astype(np.float32) * k, 0, 255).astype(np.uint8), box)
    return {
        "scale x0.5": scale(0.5), "scale x2": scale(2.0),
        "JPEG 30": (jpeg(rgb, 30), box), "JPEG 95": (jpeg(rgb, 95), box),
        "brightness -30 %": light(0.7), "brightness +30 %": light(1.3),
        "rotation -15°": rotate(rgb, box, -15), "rotation +15°": rotate(rgb, box, 15),
        "mirror": (np.ascontiguousarray(rgb[:, ::-1]), np.array([rgb.shape[1] - box[2], box[1], rgb.shape[1] - box[0], box[3]])),
        "box shifted 10 %": (rgb, box + np.array([0.1, 0.1, 0.1, 0.1]) * w),
    }


def describe(rgb, box, model="large"):
    e = embed(rgb, Faces(np.asarray(box, np.float32)[None]), model)
    return e.vectors[0], bool(e.ok[0]), e.reasons[0]


def tar_at_far(pos, neg, far):
    "Threshold whose false-accept rate on the negatives is `far`, and the true-accept rate there."
    t = float(np.quantile(neg, far))  # accept d < t
    return t, float((pos < t).mean()), float((neg < t).mean())


def faces_of(data: Path, limit: int | None):
    "Every face >= MIN_PX of faces-dev: (photo key, crop, box in crop)."
    ds = load_simple(data)
    for a in ds:
        b = a.faces_xyxy
        big = b[np.minimum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) >= MIN_PX]
        if not len(big): continue
        rgb = read_rgb(a.path)
        for k, box in enumerate(big):
            crop, cbox = crop_around(rgb, box)
            yield f"{a.key}#{k}", crop, cbox
            limit = None if limit is None else limit - 1
            if limit == 0: return


def _rate_worker(items):
    from facemask.dlib import face_recognition_api
    face_recognition_api()
    t0 = time.perf_counter()
    for rgb, box in items: describe(rgb, box)
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="faces-dev folder (default: ../shared/data/faces-dev)")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N faces of faces-dev (a quick run)")
    ap.add_argument("--render", action="store_true",
                    help="only rewrite the results for the library's current default thresholds")
    args = ap.parse_args(argv)
    if args.render: return write(json.loads((OUT / "identity.json").read_text()))
    data = dev_dataset(args.data)
    if data is None: sys.exit("bench/identity.py: needs faces-dev (../shared/data/faces-dev or --data)")
    t_start = time.perf_counter()

    # every face: its own descriptor and the descriptors of its changed copies
    base, pos, pos_kind, sources, reasons, crops = {}, [], [], [], {}, []
    groups = []  # (identity, descriptor) for the clustering test
    faces = [(f"sample:{n}", *crop_around(sample_image(n), _sample_box(n))) for n in ("astronaut", "grace_hopper")]
    faces += list(faces_of(data, args.limit))
    for key, crop, box in faces:
        v, ok, why = describe(crop, box)
        if not ok:
            reasons[key] = why; continue
        base[key] = v
        groups.append((key, v))
        if len(crops) < 60: crops.append((crop, box))
        for kind, (im, b) in variants(crop, box).items():
            w, ok2, _ = describe(im, b)
            if not ok2: continue  # a change that makes the face unusable is not a pair
            d = float(np.linalg.norm(v - w))
            pos.append(d); pos_kind.append(kind); sources.append("sample" if key.startswith("sample:") else "faces-dev")
            groups.append((key, w))
    t_described = time.perf_counter() - t_start
    pos, pos_kind, sources = np.array(pos), np.array(pos_kind), np.array(sources)

    dev_keys = [k for k in base if not k.startswith("sample:")]
    V = np.stack([base[k] for k in dev_keys])
    D = face_distances(V, V)
    iu = np.triu_indices(len(V), 1)
    neg = D[iu].astype(np.float64)
    photo = np.array([k.split("#")[0] for k in dev_keys])
    same_photo = photo[iu[0]] == photo[iu[1]]  # two faces of one photo: surely two people
    nearest_other = np.where(np.eye(len(V), dtype=bool), np.inf, D).min(1)

    rates = {}
    for far in (0.001, 0.01):
        t, tar, far_real = tar_at_far(pos, neg, far)
        rates[f"{far:.1%}"] = dict(threshold=round(t, 3), tar=round(tar, 4), far=round(far_real, 5))
    sweep = {}
    for t in np.round(np.arange(0.30, 0.605, 0.01), 2):
        sweep[f"{t:.2f}"] = dict(
            tar=round(float((pos < t).mean()), 4), far=round(float((neg < t).mean()), 5),
            far_pairs=int((neg < t).sum()),
            far_same_photo=round(float((neg[same_photo] < t).mean()), 5),
            far_other_photos=round(float((neg[~same_photo] < t).mean()), 5),
            faces_with_a_stranger_closer=round(float((nearest_other < t).mean()), 4))
    per_kind = {k: dict(pairs=int((pos_kind == k).sum()), median=round(float(np.median(pos[pos_kind == k])), 3),
                        tar={f"{t:.2f}": round(float((pos[pos_kind == k] < t).mean()), 4)
                             for t in (0.4, 0.45, 0.5)}) for k in dict.fromkeys(pos_kind)}

    # clustering a mixed folder: every face and its changed copies, shuffled
    from sklearn.metrics import completeness_score, homogeneity_score
    rng = np.random.default_rng(0)
    order = rng.permutation(len(groups))
    truth = np.array([groups[i][0] for i in order])
    X = np.stack([groups[i][1] for i in order])
    clustering = {}
    for method in ("chinese_whispers", "dbscan"):
        for t in (0.35, 0.4, 0.45, 0.5):
            t0 = time.perf_counter()
            ids = cluster(X, t, method)
            secs = time.perf_counter() - t0
            purity = sum(np.unique(truth[ids == c], return_counts=True)[1].max() for c in np.unique(ids)) / len(ids)
            clustering[f"{method} {t:.2f}"] = dict(
                method=method, threshold=t, faces=len(ids), people=len(set(truth)), groups=int(len(np.unique(ids))),
                purity=round(float(purity), 4), homogeneity=round(homogeneity_score(truth, ids), 4),
                completeness=round(completeness_score(truth, ids), 4), seconds=round(secs, 2))

    # speed: descriptors per second, one process (baseline), two processes, and the 5-point landmark model
    items = crops[:40]
    t0 = time.perf_counter()
    for rgb, box in items: describe(rgb, box)
    one = len(items) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for rgb, box in items: describe(rgb, box, "small")
    small = len(items) / (time.perf_counter() - t0)
    import multiprocessing as mp
    with mp.get_context("spawn").Pool(2) as pool:
        pool.map(_rate_worker, [items[:1], items[:1]])  # load the models in both workers first
        t0 = time.perf_counter()
        pool.map(_rate_worker, [items[0::2], items[1::2]])
        two = len(items) / (time.perf_counter() - t0)
    speed = {"1 process, 68-point landmarks": round(one, 2), "2 processes": round(two, 2),
             "1 process, 5-point landmarks": round(small, 2)}

    hist_bins = np.linspace(0, 1.2, 49)
    result = dict(
        faces=dict(described=len(base), unusable=len(reasons), unusable_reasons=sorted(set(r.split(":")[0] for r in reasons.values())),
                   faces_dev_min_px=MIN_PX, faces_dev=len(dev_keys)),
        pairs=dict(positive=int(len(pos)), positive_samples=int((sources == "sample").sum()), negative=int(len(neg))),
        tar_at_far=rates,
        sweep=sweep,
        per_change=per_kind,
        samples_max_distance=round(float(pos[sources == "sample"].max()), 3),
        distance_quantiles=dict(positive={q: round(float(np.quantile(pos, q)), 3) for q in (0.5, 0.9, 0.99, 1.0)},
                                negative={q: round(float(np.quantile(neg, q)), 3) for q in (0.0, 0.001, 0.01, 0.5)}),
        histogram=dict(bins=hist_bins.round(3).tolist(), positive=np.histogram(pos, hist_bins)[0].tolist(),
                       negative=np.histogram(neg, hist_bins)[0].tolist()),
        clustering=clustering,
        speed_faces_per_second=speed,
        speed_ratio_to_one_process={k: round(v / one, 2) for k, v in speed.items()},
        machine=dict(cpus=os.cpu_count(), load_average_1min=round(os.getloadavg()[0], 1), python=platform.python_version()),
        seconds=round(time.perf_counter() - t_start, 1), seconds_describing=round(t_described, 1),
    )
    write(result)


def with_defaults(r: dict) -> dict:
    "The results with the library's current defaults looked up in the sweeps."
    r = dict(r, default_threshold=KEEP_THRESHOLD, cluster_threshold=CLUSTER_THRESHOLD)
    r["at_default"] = r["sweep"][f"{KEEP_THRESHOLD:.2f}"]
    return r


def write(result: dict) -> None:
    result = with_defaults(result)
    OUT.mkdir(exist_ok=True)
    (OUT / "identity.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    (OUT / "identity.md").write_text(markdown(result))
    print(markdown(result))


def _sample_box(name):
    from facemask.pipeline import get_detector
    f = get_detector("auto")(sample_image(name))
    return f.xyxy[int(np.argmax(f.widths))]


def markdown(r) -> str:
    f, d = r["faces"], r["at_default"]
    rows = ["# Face descriptors (`facemask.identity`): who is who\n",
            f"{f['described']} faces described ({f['faces_dev']} faces >= {f['faces_dev_min_px']} px of faces-dev "
            f"+ 2 sample photos; {f['unusable']} marked unusable). {r['pairs']['positive']} positive pairs (the "
            f"same face, changed), {r['pairs']['negative']} negative pairs (different faces).\n",
            "| FAR | threshold | TAR |", "|---|---|---|"]
    rows += [f"| {k} | {v['threshold']:.3f} | {v['tar']:.2%} |" for k, v in r["tar_at_far"].items()]
    rows += ["", f"`--keep` at the default threshold {r['default_threshold']}: TAR {d['tar']:.2%}, strangers kept "
             f"{d['far']:.3%} of pairs ({d['far_pairs']} pairs; {d['far_same_photo']:.3%} of pairs within one photo, "
             f"{d['far_other_photos']:.3%} across photos); {d['faces_with_a_stranger_closer']:.1%} of faces have "
             "another face closer than the threshold.\n",
             "| threshold | TAR | FAR | FAR, same photo | FAR, other photos |", "|---|---|---|---|---|"]
    rows += [f"| {t} | {v['tar']:.2%} | {v['far']:.3%} | {v['far_same_photo']:.3%} | {v['far_other_photos']:.3%} |"
             for t, v in r["sweep"].items() if t in ("0.35", "0.38", "0.40", "0.42", "0.45", "0.50", "0.55", "0.60")]
    rows += ["", "| change | pairs | median distance | TAR at 0.40 | TAR at 0.45 | TAR at 0.50 |", "|---|---|---|---|---|---|"]
    rows += [f"| {k} | {v['pairs']} | {v['median']:.3f} | " + " | ".join(f"{x:.2%}" for x in v["tar"].values()) + " |"
             for k, v in r["per_change"].items()]
    rows += ["", "| clustering | threshold | faces | people | groups | purity | homogeneity | completeness | seconds |",
             "|---|---|---|---|---|---|---|---|---|"]
    rows += [f"| {v['method']} | {v['threshold']:.2f} | {v['faces']} | {v['people']} | {v['groups']} | {v['purity']:.3f} "
             f"| {v['homogeneity']:.3f} | {v['completeness']:.3f} | {v['seconds']} |" for v in r["clustering"].values()]
    rows += ["", "| descriptors | faces/s | ratio |", "|---|---|---|"]
    rows += [f"| {k} | {v} | {r['speed_ratio_to_one_process'][k]:.2f}x |" for k, v in r["speed_faces_per_second"].items()]
    m = r["machine"]
    rows += ["", f"{m['cpus']} CPUs shared with other work (1-minute load average {m['load_average_1min']} at the end), "
             f"Python {m['python']}; {r['seconds']} s in all."]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    main()
