"""How well dlib's face descriptors tell people apart, as facemask uses them (`facemask.identity`).

Positive pairs: the same face under changes a camera or an editor makes (scale, JPEG, brightness,
rotation, mirror, a shifted box), on the two free sample photos and on every face >= 80 px of
faces-dev (ground-truth boxes). Negative pairs: different faces of faces-dev, every face >= 40 px
(`MIN_FACE_PX`) that can be described (two people in one photo are two people).

Reports the true-accept rate (TAR) at false-accept rates (FAR) of 0.1 % and 1 %; a `--keep` run
simulated photo by photo (each face >= 80 px is a reference, every other photo is searched for it):
the share of strangers left visible under each keep rule, on a tuning half of the photos and on a
held-out half; the same-photo look-alikes in numbers; clustering purity and completeness on a mixed
folder; descriptors per second in one and two processes (ratios to one process in this run).
Numbers only: no face crop is saved or shown. Descriptors are biometric data: they are written only
with --cache FILE (for re-running the analysis), never into the results.

    uv run --frozen python bench/identity.py [--data ../shared/data/faces-dev] [--limit N]
        [--cache FILE]
"""
from __future__ import annotations

import argparse, hashlib, json, os, platform, sys, time
from pathlib import Path

import cv2
import numpy as np

from facemask.core import Faces, read_rgb, sample_image
from facemask.evaluate import dev_dataset, load_simple
from facemask.identity import (CLUSTER_THRESHOLD, KEEP_MARGIN, KEEP_THRESHOLD, MIN_FACE_PX,
                               aligned_faces, cluster, embed, face_distances)

OUT = Path(__file__).parent / "results"
MIN_PX = 80  # faces this big are references and get changed copies (positive pairs)
KINDS = ["scale x0.5", "scale x2", "JPEG 30", "JPEG 95", "brightness -30 %", "brightness +30 %",
         "rotation -15°", "rotation +15°", "mirror", "box shifted 10 %"]
THRESHOLDS = np.round(np.arange(0.30, 0.605, 0.01), 2)
MARGINS = (None, 0.0, 0.05, 0.1, 0.15)  # None: the threshold alone


def crop_around(rgb, xyxy, pad=1.0):
    "A crop around a face (its box grown by `pad` box sizes each side) and the box inside it."
    x1, y1, x2, y2 = xyxy
    w, h = x2 - x1, y2 - y1
    H, W = rgb.shape[:2]
    cx1, cy1 = int(max(0, x1 - pad * w)), int(max(0, y1 - pad * h))
    cx2, cy2 = int(min(W, x2 + pad * w)), int(min(H, y2 + pad * h))
    box = np.array([x1 - cx1, y1 - cy1, x2 - cx1, y2 - cy1], np.float32)
    return np.ascontiguousarray(rgb[cy1:cy2, cx1:cx2]), box


def jpeg(rgb, q):
    ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def rotate(rgb, box, deg):
    "The crop turned by `deg` degrees about the face centre; the box stays."
    c = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    M = cv2.getRotationMatrix2D(c, deg, 1)
    size = (rgb.shape[1], rgb.shape[0])
    return cv2.warpAffine(rgb, M, size, borderMode=cv2.BORDER_REFLECT), box


def variants(rgb, box):
    "The changes a positive pair undergoes: name -> (image, face box), in the order of KINDS."
    w = box[2] - box[0]
    def scale(k):
        size = (max(1, round(rgb.shape[1] * k)), max(1, round(rgb.shape[0] * k)))
        im = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
        return im, box * k
    light = lambda k: (np.clip(rgb.astype(np.float32) * k, 0, 255).astype(np.uint8), box)
    W = rgb.shape[1]
    mirrored = np.array([W - box[2], box[1], W - box[0], box[3]], np.float32)
    out = {
        "scale x0.5": scale(0.5), "scale x2": scale(2.0),
        "JPEG 30": (jpeg(rgb, 30), box), "JPEG 95": (jpeg(rgb, 95), box),
        "brightness -30 %": light(0.7), "brightness +30 %": light(1.3),
        "rotation -15°": rotate(rgb, box, -15), "rotation +15°": rotate(rgb, box, 15),
        "mirror": (np.ascontiguousarray(rgb[:, ::-1]), mirrored),
        "box shifted 10 %": (rgb, box + np.array([0.1, 0.1, 0.1, 0.1], np.float32) * w),
    }
    assert list(out) == KINDS
    return out


def describe(rgb, box, model="large"):
    "One face's descriptor, whether it could be described, and why not."
    e = embed(rgb, Faces(np.asarray(box, np.float32)[None]), model)
    return e.vectors[0], bool(e.ok[0]), e.reasons[0]


def grey_chip(rgb, box, side=48):
    "The aligned face as a small grey picture, to tell duplicates (the same pixels) apart."
    chip = aligned_faces(rgb, Faces(np.asarray(box, np.float32)[None]))[0][0]
    small = cv2.resize(cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY), (side, side),
                       interpolation=cv2.INTER_AREA)
    return small


def _sample_box(name):
    from facemask.pipeline import get_detector
    f = get_detector("auto")(sample_image(name))
    return f.xyxy[int(np.argmax(f.widths))]


def describe_all(data: Path, limit: int | None) -> dict:
    "Every face's descriptor; faces >= MIN_PX also their changed copies'. Arrays, one row a face."
    rows = []  # (key, photo, role, box, side, crop or None, box in crop, rgb, box in photo)
    for n in ("astronaut", "grace_hopper"):
        rgb, box = sample_image(n), _sample_box(n)
        rows.append((f"sample:{n}", f"sample:{n}", "sample", rgb, box))
    taken = 0
    for a in load_simple(data):
        b = a.faces_xyxy
        sides = np.minimum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
        if not (sides >= MIN_FACE_PX).any(): continue
        rgb = read_rgb(a.path)
        for k in np.flatnonzero(sides >= MIN_FACE_PX):
            role = "reference" if sides[k] >= MIN_PX else "small"
            rows.append((f"{a.key}#{k}", a.key, role, rgb, b[k]))
        taken += 1
        if limit and taken >= limit: break
    n = len(rows)
    base = np.full((n, 128), np.nan, np.float32)
    var = np.full((n, len(KINDS), 128), np.nan, np.float32)
    ok = np.zeros(n, bool)
    reasons = [""] * n
    chips = np.zeros((n, 48, 48), np.uint8)
    boxes = np.zeros((n, 4), np.float32)
    for i, (key, photo, role, rgb, box) in enumerate(rows):
        boxes[i] = box
        crop, cbox = crop_around(rgb, box)
        base[i], ok[i], reasons[i] = describe(crop, cbox)
        if not ok[i]: continue
        chips[i] = grey_chip(crop, cbox)
        if role == "small": continue
        for j, (im, b) in enumerate(variants(crop, cbox).values()):
            v, ok2, _ = describe(im, b)
            if ok2: var[i, j] = v  # a change that makes the face unusable is not a pair
    return dict(key=np.array([r[0] for r in rows]), photo=np.array([r[1] for r in rows]),
                role=np.array([r[2] for r in rows]), box=boxes, base=base, var=var, ok=ok,
                reason=np.array(reasons), chip=chips)


def half_of(photo: str) -> int:
    "0 (tuning) or 1 (held out): a fixed split of the photos by a hash of their name."
    return hashlib.sha1(photo.encode()).digest()[0] % 2


def tar_at_far(pos, neg, far):
    "Threshold whose false-accept rate on the negatives is `far`, and the true-accept rate there."
    t = float(np.quantile(neg, far))  # accept d < t
    return t, float((pos < t).mean()), float((neg < t).mean())


def upper_bound(k: int, n: int, conf: float = 0.95) -> float:
    "Clopper-Pearson upper confidence bound of a rate seen k times in n tries."
    from scipy.stats import beta
    return 1.0 if k >= n else float(beta.ppf(conf, k + 1, n - k))


def simulate_keep(F: dict, refs: np.ndarray, faces: np.ndarray, thresholds,
                  margin: float | None) -> dict:
    """A `--keep` run per reference face r (its own descriptor as the reference photo): every photo
    among `faces` is searched, r's own photo with r replaced by each changed copy of r.
    A face is kept when it is nearer than t to the reference and every other face of its photo is
    at least `margin` farther (one person is in a photo once); margin None: the threshold alone."""
    base, var, photo = F["base"], F["var"], F["photo"]
    D = face_distances(base, base).astype(np.float64)
    photos = {p: np.flatnonzero(faces & (photo == p)) for p in np.unique(photo[faces])}
    t = np.asarray(thresholds)[:, None]
    c = dict(pos=np.zeros(len(t)), pos_n=0, same=np.zeros(len(t)), same_n=0.0,
             other=np.zeros(len(t)), other_n=0, photos_with_a_stranger_kept=np.zeros(len(t)))
    def kept(d):  # d: distances of one photo's faces to the reference -> (T, faces) bool
        if margin is None or len(d) == 1: return d[None] < t
        order = np.sort(d)
        clear = d + margin <= np.where(d == order[0], order[1], order[0])
        return (d[None] < t) & clear[None]
    for r in np.flatnonzero(refs):
        for p, idx in photos.items():
            if p == photo[r]:
                others = idx[idx != r]
                for j in range(len(F["var"][r])):
                    if np.isnan(var[r, j, 0]): continue
                    d_self = float(np.linalg.norm(var[r, j] - base[r]))
                    k = kept(np.concatenate([[d_self], D[r, others]]))
                    c["pos"] += k[:, 0]
                    c["pos_n"] += 1
                    if len(others):
                        n_var = int((~np.isnan(var[r, :, 0])).sum())
                        c["same"] += k[:, 1:].sum(1) / n_var  # each change counts 1/n_var
                        c["same_n"] += len(others) / n_var
            else:
                k = kept(D[r, idx])
                c["other"] += k.sum(1)
                c["other_n"] += len(idx)
                c["photos_with_a_stranger_kept"] += k.any(1)
    out = {}
    for i, th in enumerate(np.asarray(thresholds)):
        wrong, n = c["same"][i] + c["other"][i], c["same_n"] + c["other_n"]
        out[f"{th:.2f}"] = dict(
            tar=round(c["pos"][i] / max(c["pos_n"], 1), 4),
            false_keeps=round(float(wrong), 1), stranger_faces=round(float(n), 1),
            false_keep_rate=round(float(wrong / max(n, 1)), 6),
            upper_95=round(upper_bound(round(wrong), round(n)), 6),
            same_photo=round(float(c["same"][i] / max(c["same_n"], 1)), 5),
            other_photos=round(float(c["other"][i] / max(c["other_n"], 1)), 6))
    return out


def same_photo_lookalikes(F: dict, threshold: float) -> list[dict]:
    "Pairs of faces in one photo nearer than `threshold`: what they are, in numbers only."
    ok, photo, base, box, chip = F["ok"], F["photo"], F["base"], F["box"], F["chip"]
    mirror = F["var"][:, KINDS.index("mirror")]
    idx = np.flatnonzero(ok & (F["role"] != "sample"))
    D = face_distances(base[idx], base[idx])
    out = []
    for a, b in zip(*np.triu_indices(len(idx), 1)):
        i, j = idx[a], idx[b]
        if photo[i] != photo[j] or D[a, b] >= threshold: continue
        x1, y1 = np.maximum(box[i, :2], box[j, :2])
        x2, y2 = np.minimum(box[i, 2:], box[j, 2:])
        inter = max(0, x2 - x1) * max(0, y2 - y1)
        area = lambda k: (box[k, 2] - box[k, 0]) * (box[k, 3] - box[k, 1])
        ci, cj = chip[i].astype(np.float64).ravel(), chip[j].astype(np.float64).ravel()
        ncc = float(np.corrcoef(ci, cj)[0, 1])
        ncc_mirror = float(np.corrcoef(ci, chip[j][:, ::-1].astype(np.float64).ravel())[0, 1])
        mirrored = [float(np.linalg.norm(m - base[o])) for m, o in ((mirror[i], j), (mirror[j], i))
                    if not np.isnan(m[0])]
        widths = (box[i, 2] - box[i, 0], box[j, 2] - box[j, 0])
        centre = lambda k: (box[k, :2] + box[k, 2:]) / 2
        out.append(dict(photo=str(photo[i]), faces=[str(F["key"][i]), str(F["key"][j])],
                        distance=round(float(D[a, b]), 3),
                        iou=round(float(inter / (area(i) + area(j) - inter)), 3),
                        size_ratio=round(float(max(widths) / min(widths)), 2),
                        apart_in_face_widths=round(float(np.linalg.norm(centre(i) - centre(j))
                                                         / np.mean(widths)), 2),
                        chip_correlation=round(ncc, 3), chip_correlation_mirrored=round(ncc_mirror, 3),
                        distance_one_mirrored=round(min(mirrored), 3) if mirrored else None,
                        photos_other_faces=int((photo == photo[i]).sum() - 2)))
    return sorted(out, key=lambda r: r["distance"])


def _rate_worker(items):
    from facemask.dlib import face_recognition_api
    face_recognition_api()
    t0 = time.perf_counter()
    for rgb, box in items: describe(rgb, box)
    return time.perf_counter() - t0


def speed(data: Path, n: int = 40) -> dict:
    "Descriptors per second: one process (the baseline), two processes, the 5-point landmarks."
    items = []
    for a in load_simple(data):
        b = a.faces_xyxy
        big = b[np.minimum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) >= MIN_PX]
        if len(big): items.append(crop_around(read_rgb(a.path), big[0]))
        if len(items) == n: break
    _rate_worker(items[:2])  # models loaded
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
    return {"1 process, 68-point landmarks": round(one, 2), "2 processes": round(two, 2),
            "1 process, 5-point landmarks": round(small, 2)}


def _mkey(margin): return "alone" if margin is None else f"{margin:.2f}"


def choose(rules: dict, target: float) -> dict:
    "Per margin, the largest threshold whose false-keep rate is <= target with 95 % confidence."
    out = {}
    for m, sweep in rules.items():
        fine = [t for t, v in sweep.items() if v["upper_95"] <= target]
        t = max(fine) if fine else None
        out[m] = dict(threshold=t, tar=sweep[t]["tar"] if t else None)
    return out


def analyse(F: dict, seconds_describing: float) -> dict:
    ok, role, photo, base, var = F["ok"], F["role"], F["photo"], F["base"], F["var"]
    dev = ok & (role != "sample")
    ref = ok & (role != "small")
    pos_d = np.linalg.norm(var - base[:, None], axis=-1)  # (N, kinds), NaN where no pair
    has = ~np.isnan(pos_d) & ref[:, None]
    pos = pos_d[has]
    kinds = np.broadcast_to(np.array(KINDS), pos_d.shape)[has]
    sources = np.broadcast_to((role == "sample")[:, None], pos_d.shape)[has]
    idx = np.flatnonzero(dev)
    D = face_distances(base[idx], base[idx])
    iu = np.triu_indices(len(idx), 1)
    neg = D[iu].astype(np.float64)
    same_photo = photo[idx][iu[0]] == photo[idx][iu[1]]

    rates = {}
    for far in (0.001, 0.01):
        t, tar, far_real = tar_at_far(pos, neg, far)
        rates[f"{far:.1%}"] = dict(threshold=round(t, 3), tar=round(tar, 4), far=round(far_real, 5))
    sweep = {f"{t:.2f}": dict(
        tar=round(float((pos < t).mean()), 4), far=round(float((neg < t).mean()), 5),
        far_pairs=int((neg < t).sum()),
        far_same_photo=round(float((neg[same_photo] < t).mean()), 5),
        far_other_photos=round(float((neg[~same_photo] < t).mean()), 5)) for t in THRESHOLDS}
    per_kind = {k: dict(pairs=int((kinds == k).sum()), median=round(float(np.median(pos[kinds == k])), 3),
                        tar={f"{t:.2f}": round(float((pos[kinds == k] < t).mean()), 4)
                             for t in (0.35, 0.4, 0.45)}) for k in KINDS}

    # a --keep run, simulated: rules tuned on one half of the photos, judged on the other
    half = np.array([half_of(p) for p in photo])
    dev_ref = dev & (role == "reference")
    keep_runs = {}
    for name, sel in (("tuning", half == 0), ("held-out", half == 1), ("all", np.ones_like(ok))):
        keep_runs[name] = {_mkey(m): simulate_keep(F, dev_ref & sel, dev & sel, THRESHOLDS, m)
                           for m in MARGINS}
    chosen = choose(keep_runs["tuning"], 0.001)
    # the rule: the smallest margin that leaves no stranger of the same photo visible on the tuning
    # half, at the largest threshold whose false-keep rate is <= 0.1 % with 95 % confidence there
    tuning = keep_runs["tuning"]
    margin = next((m for m in map(_mkey, MARGINS[1:]) if chosen[m]["threshold"]
                   and tuning[m][chosen[m]["threshold"]]["same_photo"] == 0), None)
    rule = dict(margin=margin, threshold=chosen[margin]["threshold"] if margin else None)
    lookalikes = same_photo_lookalikes(F, 0.45)

    # clustering a mixed folder: every face with its changed copies, and the small faces, shuffled
    from sklearn.metrics import completeness_score, homogeneity_score
    groups = [(F["key"][i], base[i]) for i in np.flatnonzero(ok)]
    groups += [(F["key"][i], var[i, j]) for i, j in zip(*np.nonzero(has))]
    order = np.random.default_rng(0).permutation(len(groups))
    truth = np.array([groups[i][0] for i in order])
    X = np.stack([groups[i][1] for i in order])
    clustering = {}
    for method in ("chinese_whispers", "dbscan"):
        for t in (0.30, 0.35, 0.40, 0.45):
            t0 = time.perf_counter()
            ids = cluster(X, t, method)
            secs = time.perf_counter() - t0
            purity = sum(np.unique(truth[ids == c], return_counts=True)[1].max()
                         for c in np.unique(ids)) / len(ids)
            clustering[f"{method} {t:.2f}"] = dict(
                method=method, threshold=t, faces=len(ids), people=len(set(truth)),
                groups=int(len(np.unique(ids))), purity=round(float(purity), 4),
                homogeneity=round(homogeneity_score(truth, ids), 4),
                completeness=round(completeness_score(truth, ids), 4), seconds=round(secs, 2))

    bins = np.linspace(0, 1.2, 49)
    return dict(
        faces=dict(described=int(ok.sum()), unusable=int((~ok).sum()),
                   unusable_reasons=sorted({r.split(":")[0] for r in F["reason"] if r}),
                   references=int(ref.sum()), small=int((ok & (role == "small")).sum()),
                   faces_dev=int(dev.sum()), faces_dev_photos=int(len(np.unique(photo[dev]))),
                   min_px_reference=MIN_PX, min_px=MIN_FACE_PX),
        pairs=dict(positive=int(len(pos)), positive_samples=int(sources.sum()), negative=int(len(neg)),
                   negative_same_photo=int(same_photo.sum())),
        tar_at_far=rates, sweep=sweep, per_change=per_kind,
        samples_max_distance=round(float(pos[sources].max()), 3),
        distance_quantiles=dict(
            positive={q: round(float(np.quantile(pos, q)), 3) for q in (0.5, 0.9, 0.99, 1.0)},
            negative={q: round(float(np.quantile(neg, q)), 3) for q in (0.0, 0.001, 0.01, 0.5)}),
        histogram=dict(bins=bins.round(3).tolist(), positive=np.histogram(pos, bins)[0].tolist(),
                       negative=np.histogram(neg, bins)[0].tolist()),
        split=dict(photos_tuning=int(len(np.unique(photo[dev & (half == 0)]))),
                   photos_held_out=int(len(np.unique(photo[dev & (half == 1)])))),
        keep_runs=keep_runs, chosen_on_tuning_half=chosen, rule_chosen=rule,
        same_photo_lookalikes=lookalikes, clustering=clustering,
        seconds_describing=round(seconds_describing, 1))


def with_defaults(r: dict) -> dict:
    "The results with the library's current defaults looked up in the sweeps."
    r = dict(r, default_threshold=KEEP_THRESHOLD, default_margin=KEEP_MARGIN,
             cluster_threshold=CLUSTER_THRESHOLD)
    m, t = _mkey(KEEP_MARGIN), f"{KEEP_THRESHOLD:.2f}"
    r["at_default"] = {h: r["keep_runs"][h][m][t] for h in r["keep_runs"]}
    r["threshold_only_at_default"] = {h: r["keep_runs"][h]["alone"][t] for h in r["keep_runs"]}
    r["pairs_at_default"] = r["sweep"][t]
    return r


def write(result: dict) -> None:
    result = with_defaults(result)
    OUT.mkdir(exist_ok=True)
    (OUT / "identity.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    (OUT / "identity.md").write_text(markdown(result))
    print(markdown(result))


def pct(x, d=2): return f"{100 * x:.{d}f} %"


def markdown(r) -> str:
    f, p = r["faces"], r["pairs"]
    d, d0 = r["at_default"], r["threshold_only_at_default"]
    rows = ["# Face descriptors (`facemask.identity`): who is who\n",
            f"{f['described']} faces described: {f['references']} faces >= {f['min_px_reference']} px "
            f"(2 sample photos, the rest from faces-dev) with changed copies, and {f['small']} faces of "
            f"{f['min_px']}-{f['min_px_reference']} px of faces-dev as strangers only; {f['unusable']} "
            f"marked too small or blurry. {p['positive']} positive pairs (the same face, changed), "
            f"{p['negative']} negative pairs (different faces of faces-dev, {p['negative_same_photo']} "
            "of them in one photo).\n",
            "| FAR (pairs) | threshold | TAR |", "|---|---|---|"]
    rows += [f"| {k} | {v['threshold']:.3f} | {pct(v['tar'])} |" for k, v in r["tar_at_far"].items()]
    rows += ["", "## `--keep`, simulated photo by photo\n",
             f"Photos split by a hash of their name: {r['split']['photos_tuning']} tuning, "
             f"{r['split']['photos_held_out']} held out. Default rule: distance < "
             f"{r['default_threshold']} and every other face of the photo at least "
             f"{r['default_margin']} farther from the reference.\n",
             "| rule | photos | TAR | strangers kept | 95 % bound | same photo | other photos |",
             "|---|---|---|---|---|---|---|"]
    for name, v in [("default", d), (f"threshold {r['default_threshold']} alone", d0)]:
        for h in ("tuning", "held-out", "all"):
            x = v[h]
            rows.append(f"| {name} | {h} | {pct(x['tar'])} | {pct(x['false_keep_rate'], 3)} "
                        f"({x['false_keeps']:g} of {x['stranger_faces']:g}) | {pct(x['upper_95'], 3)} "
                        f"| {pct(x['same_photo'], 2)} | {pct(x['other_photos'], 3)} |")
    rows += ["", "Largest threshold whose tuning-half 95 % bound is <= 0.1 %, per margin: "
             + ", ".join(f"{m}: {v['threshold']} (TAR {pct(v['tar'] or 0)})"
                         for m, v in r["chosen_on_tuning_half"].items())
             + f". The rule chosen (the smallest margin that keeps no stranger of the same photo "
             f"on the tuning half): margin {r['rule_chosen']['margin']}, threshold "
             f"{r['rule_chosen']['threshold']}.\n",
             "| threshold | margin | TAR | strangers kept | same photo | other photos |",
             "|---|---|---|---|---|---|"]
    for m in ("alone", _mkey(r["default_margin"])):
        for t in ("0.35", "0.38", "0.40", "0.42", "0.43", "0.45", "0.50", "0.60"):
            x = r["keep_runs"]["all"][m][t]
            rows.append(f"| {t} | {m} | {pct(x['tar'])} | {pct(x['false_keep_rate'], 3)} "
                        f"| {pct(x['same_photo'])} | {pct(x['other_photos'], 3)} |")
    rows += ["", "## Same-photo pairs nearer than 0.45\n",
             "| distance | IoU | size ratio | apart (face widths) | chip correlation | mirrored "
             "| one mirrored: distance |", "|---|---|---|---|---|---|---|"]
    rows += [f"| {x['distance']} | {x['iou']} | {x['size_ratio']} | {x['apart_in_face_widths']} | "
             f"{x['chip_correlation']} | {x['chip_correlation_mirrored']} | {x['distance_one_mirrored']} |"
             for x in r["same_photo_lookalikes"]]
    rows += ["", "## Per change\n",
             "| change | pairs | median distance | TAR at 0.35 | TAR at 0.40 | TAR at 0.45 |",
             "|---|---|---|---|---|---|"]
    rows += [f"| {k} | {v['pairs']} | {v['median']:.3f} | "
             + " | ".join(pct(x) for x in v["tar"].values()) + " |" for k, v in r["per_change"].items()]
    rows += ["", "## Grouping a mixed folder\n",
             "| method | threshold | faces | people | groups | purity | homogeneity | completeness "
             "| seconds |", "|---|---|---|---|---|---|---|---|---|"]
    rows += [f"| {v['method']} | {v['threshold']:.2f} | {v['faces']} | {v['people']} | {v['groups']} "
             f"| {v['purity']:.3f} | {v['homogeneity']:.3f} | {v['completeness']:.3f} | {v['seconds']} |"
             for v in r["clustering"].values()]
    rows += ["", "## Speed\n", f"Speed rows {r.get('speed_source', 'measured in this run')}.\n",
             "| descriptors | faces/s | ratio |", "|---|---|---|"]
    rows += [f"| {k} | {v} | {r['speed_ratio_to_one_process'][k]:.2f}x |"
             for k, v in r["speed_faces_per_second"].items()]
    m = r["machine"]
    rows += ["", f"{m['cpus']} CPUs shared with other work (1-minute load average "
             f"{m['load_average_1min']} at the end), Python {m['python']}; {r['seconds']} s in all."]
    return "\n".join(rows) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="faces-dev (default: ../shared/data/faces-dev)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N photos (a quick run)")
    ap.add_argument("--cache", metavar="FILE", help="keep the descriptors in FILE (.npz) and reuse "
                    "them: biometric data, keep it private and delete it after")
    ap.add_argument("--describe-only", action="store_true", help="with --cache: only describe the "
                    "faces (one process) into the cache, for a later run under the benchmark lock")
    ap.add_argument("--speed-from", metavar="JSON", help="copy the speed rows from an earlier results "
                    "file instead of measuring them (when the benchmark lock is not free); labelled so")
    ap.add_argument("--render", action="store_true",
                    help="only rewrite the results for the library's current defaults")
    args = ap.parse_args(argv)
    if args.render: return write(json.loads((OUT / "identity.json").read_text()))
    data = dev_dataset(args.data)
    if data is None: sys.exit("bench/identity.py: needs faces-dev (../shared/data/faces-dev or --data)")
    t_start = time.perf_counter()
    loaded = bool(args.cache and Path(args.cache).is_file())
    if loaded:
        F = dict(np.load(args.cache))
        described = float(F.pop("seconds"))
    else:
        F = describe_all(data, args.limit)
        described = time.perf_counter() - t_start
        if args.cache: np.savez_compressed(args.cache, seconds=described, **F)
        if args.describe_only: return print(f"{len(F['key'])} faces described in {described:.0f} s")
    result = analyse(F, described)
    if args.speed_from:
        earlier = json.loads(Path(args.speed_from).read_text())
        for k in ("speed_faces_per_second", "speed_ratio_to_one_process"): result[k] = earlier[k]
        result["speed_source"] = (f"copied from an earlier run (1-minute load average "
                                  f"{earlier['machine']['load_average_1min']}), not measured in this one")
    else:
        result["speed_faces_per_second"] = s = speed(data)
        one = s["1 process, 68-point landmarks"]
        result["speed_ratio_to_one_process"] = {k: round(v / one, 2) for k, v in s.items()}
        result["speed_source"] = "measured in this run"
    result["machine"] = dict(cpus=os.cpu_count(), load_average_1min=round(os.getloadavg()[0], 1),
                             python=platform.python_version())
    result["seconds"] = round(time.perf_counter() - t_start + (described if loaded else 0), 1)
    write(result)


if __name__ == "__main__":
    main()
