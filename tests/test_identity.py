"Who is who: descriptors, keeping chosen people, one emoji per person, `facemask people`, bad references."
import json, subprocess, sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from facemask.core import FacemaskError, Faces, read_rgb, sample_image, save_image
from facemask.pipeline import get_detector, plan_jobs
from facemask.identity import (KEEP_THRESHOLD, anonymize_people, cluster, embed, face_distances,
                               group_people, load_references, main_people, match, person_ids)


def brighter(rgb, k): return np.clip(rgb.astype(np.float32) * k, 0, 255).astype(np.uint8)
def resized(rgb, k):
    size = (round(rgb.shape[1] * k), round(rgb.shape[0] * k))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
def turned(rgb, deg):
    h, w = rgb.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1)
    return cv2.warpAffine(rgb, turn, (w, h), borderMode=cv2.BORDER_REFLECT)


@pytest.fixture(scope="module")
def detector(): return get_detector("auto")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    "Photos of two people: the astronaut (Eileen Collins) and Grace Hopper, also changed as a camera would."
    d = tmp_path_factory.mktemp("people")
    a, g = sample_image("astronaut"), sample_image("grace_hopper")
    save_image(a, d / "in" / "a_original.png")
    save_image(turned(brighter(a, 0.7), 10)[:, ::-1], d / "in" / "a_dark_turned_mirrored.jpg",
               quality=50)
    save_image(g, d / "in" / "g_original.jpg")
    save_image(np.concatenate([cv2.resize(a, (512, 600)), g], 1), d / "in" / "both.jpg")
    save_image(resized(brighter(g, 1.25), 0.6), d / "refs" / "grace" / "grace_small_bright.jpg")
    save_image(resized(turned(a, -8), 1.5), d / "refs" / "astronaut.png")
    return d


def test_embed_empty_and_shapes(detector):
    rgb = sample_image("astronaut")
    e = embed(rgb, Faces.empty())
    assert e.vectors.shape == (0, 128) and e.ok.shape == (0,) and e.reasons == []
    faces = detector(rgb)
    e = embed(rgb, faces)
    assert e.vectors.shape == (len(faces), 128) and e.ok.all() and e.vectors.dtype == np.float32
    with pytest.raises(FacemaskError, match="huge"): embed(rgb, faces, model="huge")


def test_small_and_blurred_faces_are_marked_not_guessed(detector):
    rgb = sample_image("astronaut")
    faces = detector(rgb)
    tiny = faces.scaled(0.25)
    e = embed(cv2.resize(rgb, (128, 128), interpolation=cv2.INTER_AREA), tiny)
    assert not e.ok.any() and "too small" in e.reasons[0] and np.isnan(e.vectors).all()
    e = embed(cv2.GaussianBlur(rgb, (0, 0), 8), faces)
    assert not e.ok.any() and "too blurry" in e.reasons[0]


def test_same_person_close_different_people_far(detector):
    a, g = sample_image("astronaut"), sample_image("grace_hopper")
    def one(rgb):
        f = detector(rgb)
        return embed(rgb, f[[int(np.argmax(f.widths))]]).vectors[0]
    same_a = [one(a), one(a[:, ::-1].copy()), one(brighter(resized(a, 0.5), 1.3)), one(turned(a, 15))]
    same_g = [one(g), one(brighter(resized(g, 0.5), 0.7))]
    d_same = np.concatenate([face_distances(same_a, same_a).ravel(), face_distances(same_g, same_g).ravel()])
    d_diff = face_distances(same_a, same_g)
    assert d_same.max() < KEEP_THRESHOLD < d_diff.min(), (d_same.max(), d_diff.min())
    ids = cluster(np.array(same_a + same_g))
    assert ids.tolist() == [0] * 4 + [1] * 2
    assert cluster(np.array(same_a + same_g), method="dbscan").tolist() == ids.tolist()
    assert cluster(np.zeros((0, 128))).shape == (0,)


@pytest.mark.parametrize("make, message", [
    (lambda a, g: np.full((200, 200, 3), 128, np.uint8), "no face found"),
    (lambda a, g: np.concatenate([cv2.resize(a, (512, 600)), g], 1), "2 faces"),
    (lambda a, g: resized(a, 0.25), "too small"),
    (lambda a, g: cv2.GaussianBlur(a, (0, 0), 8), "too blurry"),
    (lambda a, g: np.concatenate([cv2.resize(a, (512, 600)), cv2.GaussianBlur(g, (0, 0), 8)], 1),
     "2 faces"),  # one sharp face and one blurred: which one was meant?
])
def test_bad_reference_photos(tmp_path, make, message):
    p = save_image(make(sample_image("astronaut"), sample_image("grace_hopper")), tmp_path / "ref.png")
    with pytest.raises(FacemaskError, match=message) as e: load_references([p])
    assert str(p) in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(FacemaskError, match="no such"): load_references([tmp_path / "missing.jpg"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FacemaskError, match="holds no photos"): load_references([tmp_path / "empty"])


def test_keep_leaves_only_the_chosen_person_visible(photos):
    refs = load_references([photos / "refs" / "grace"])
    assert len(refs) == 1 and refs.files[0].endswith("grace_small_bright.jpg")
    out = photos / "kept"
    results = {r.key: r for r in anonymize_people(plan_jobs([photos / "in"], out), keep=refs)}
    assert all(r.error is None for r in results.values())
    assert results["a_original.png"].kept == [] and results["a_dark_turned_mirrored.jpg"].kept == []  # never her
    assert results["g_original.jpg"].kept == [0] and "grace_small_bright.jpg" in results["g_original.jpg"].why[0]
    both = results["both.jpg"]
    assert len(both.kept) == 1 and both.detections[both.kept[0]][0] > 512  # Grace, on the right half
    g_in, g_out = read_rgb(photos / "in" / "g_original.jpg"), read_rgb(out / "g_original.jpg")
    x1, y1, x2, y2 = map(int, results["g_original.jpg"].detections[0][:4])
    assert np.abs(g_out[y1:y2, x1:x2].astype(int) - g_in[y1:y2, x1:x2]).mean() < 3  # her face is still there
    a_in, a_out = sample_image("astronaut"), read_rgb(out / "a_original.png")
    x1, y1, x2, y2 = map(int, results["a_original.png"].detections[0][:4])
    assert (a_out[y1:y2, x1:x2] != a_in[y1:y2, x1:x2]).any(-1).mean() > 0.8  # the astronaut is covered


def test_match_keeps_nothing_uncertain(detector, tmp_path):
    g = sample_image("grace_hopper")
    refs = load_references([save_image(g, tmp_path / "g.jpg")])
    faces = detector(g)
    emb = embed(g, faces)
    keep, dist, nearest = match(emb, refs, threshold=0.0)
    assert not keep.any()  # a threshold no one meets keeps no one
    keep, dist, nearest = match(emb, refs)
    assert keep.tolist() == emb.ok.tolist() == [True] + [False] * (len(faces) - 1)
    assert np.isinf(dist[~emb.ok]).all()  # a face not described is never kept


def test_a_person_twice_in_one_photo_stays_covered(detector, tmp_path):
    "One person is in a photo once: two faces both near the reference are both left covered."
    a = sample_image("astronaut")
    twice = np.ascontiguousarray(np.concatenate([a, brighter(a, 0.95)], 1))  # her photo beside her
    refs = load_references([save_image(resized(a, 0.7), tmp_path / "a.jpg")])
    emb = embed(twice, detector(twice))
    keep, dist, _ = match(emb, refs)
    assert (dist < KEEP_THRESHOLD).sum() == 2 and not keep.any(), dist
    assert match(emb, refs, margin=0.0)[0][np.argmin(dist)]  # without a margin, the nearer one
    assert match(emb[[int(np.argmin(dist))]], refs)[0].tolist() == [True]  # alone, it is kept


def test_group_people_says_unsure(detector):
    "The app's grouping: a person per face, or 'unsure' for a face too small to describe."
    a, g = sample_image("astronaut"), sample_image("grace_hopper")
    a_faces = detector(a)
    photos = [(a, a_faces), (g, detector(g)[:1]), (resized(a, 0.25), a_faces.scaled(0.25)),
              (g, a_faces[:0])]
    assert group_people(photos) == [[0], [1], ["unsure"], []]
    ids = [x.tolist() for x in person_ids(photos)]
    assert ids[:2] == [[0], [1]] and ids[2][0] not in (0, 1)  # its own id, for its own emoji


def test_one_emoji_per_person_is_stable(photos):
    def run(out, workers):
        return {r.key: r for r in anonymize_people(plan_jobs([photos / "in"], photos / out), per_person=True,
                                                    workers=workers)}
    one, two = run("pp1", 1), run("pp2", 2)
    assert {k: r.person for k, r in one.items()} == {k: r.person for k, r in two.items()}  # same with workers
    a = one["a_original.png"].person[0]
    assert one["a_dark_turned_mirrored.jpg"].person == [a]
    g = one["g_original.jpg"].person[0]
    assert g != a and one["both.jpg"].person[:2] == [a, g]
    # the same emoji over the astronaut in both photos of her, a different one over Grace
    def patch(key, det):
        x1, y1, x2, y2 = map(int, det[:4])
        return read_rgb(photos / "pp1" / key)[y1:y2, x1:x2]
    pa = patch("a_original.png", one["a_original.png"].detections[0])
    pb = patch("both.jpg", one["both.jpg"].detections[0])
    pg = patch("g_original.jpg", one["g_original.jpg"].detections[0])
    hist = lambda p: np.histogram(p[..., 0], 16, (0, 256))[0] / p[..., 0].size
    assert np.abs(hist(pa) - hist(pb)).sum() < np.abs(hist(pa) - hist(pg)).sum()


def test_people_json_and_sheet(photos, tmp_path):
    code = main_people([str(photos / "in"), "--json", str(tmp_path / "p.json"), "--sheet", str(tmp_path / "p.html")])
    assert code == 0
    report = json.loads((tmp_path / "p.json").read_text())
    assert [sorted(f["file"] for f in person) for person in report["people"]] == [
        ["a_dark_turned_mirrored.jpg", "a_original.png", "both.jpg"], ["both.jpg", "g_original.jpg"]]
    assert all(len(f["box"]) == 4 for p in report["people"] for f in p)
    assert {f["file"] for f in report["unsure"]} <= {"both.jpg", "g_original.jpg"}  # the tiny false face
    sheet = (tmp_path / "p.html").read_text()
    assert sheet.count("<img") == sum(map(len, report["people"])) + len(report["unsure"])
    assert not list(tmp_path.glob(".*.part"))


def test_people_command(photos, tmp_path):
    from facemask import cli
    if "people" not in Path(cli.__file__).read_text():
        pytest.skip("the facemask command does not dispatch 'people' yet")
    exe = Path(sys.executable).parent / "facemask"
    r = subprocess.run([str(exe), "people", str(photos / "in" / "missing"), "--json", str(tmp_path / "p.json")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([str(exe), "people", str(photos / "in" / "a_original.png"), str(photos / "in" / "g_original.jpg"),
                        "--json", str(tmp_path / "p.json")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "2 faces in 2 people" in r.stderr and (tmp_path / "p.html").is_file()  # sheet beside
    report = json.loads((tmp_path / "p.json").read_text())
    assert [[f["file"] for f in p] for p in report["people"]] == [["a_original.png"], ["g_original.jpg"]]


def facemask(*args, timeout=300) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "facemask"
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def test_cli_keep_and_per_person(photos, tmp_path):
    from facemask import cli
    if "\"--keep\"," not in Path(cli.__file__).read_text():
        pytest.skip("the facemask command has no --keep yet")
    r = facemask(photos / "in" / "both.jpg", "--keep", photos / "in" / "both.jpg", "-o", tmp_path / "bad")
    assert r.returncode == 2 and "2 faces" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "bad").exists()  # nothing processed on a wrong assumption
    blank = save_image(np.full((200, 200, 3), 128, np.uint8), tmp_path / "blank.png")
    r = facemask(photos / "in", "--keep", blank, "-o", tmp_path / "bad")
    assert r.returncode == 2 and f"{blank}: no face found" in r.stderr, r.stderr
    assert not (tmp_path / "bad").exists()
    photos_in = [photos / "in" / "a_original.png", photos / "in" / "g_original.jpg"]
    r = facemask(*photos_in, "--keep", photos / "refs" / "grace", "-o", tmp_path / "k", "-q")
    assert r.returncode == 0, r.stderr
    assert "1 kept visible" in r.stderr, r.stderr
    g_in, g_out = read_rgb(photos_in[1]), read_rgb(tmp_path / "k" / "g_original.jpg")
    assert np.abs(g_out[140:320, 190:340].astype(int) - g_in[140:320, 190:340]).mean() < 3  # Grace still visible
    a_in, a_out = read_rgb(photos_in[0]), read_rgb(tmp_path / "k" / "a_original.png")
    assert (a_out[70:170, 190:260] != a_in[70:170, 190:260]).any(-1).mean() > 0.8  # the astronaut covered
    r = facemask(*photos_in, "--emoji", "per-person", "--workers", "2", "-o", tmp_path / "pp", "-q")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "pp").iterdir()) == ["a_original.png", "g_original.jpg"]
