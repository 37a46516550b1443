"The facemask command end to end, as a user runs it."
import json, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facemask.core import read_rgb, sample_image


def facemask(*args, timeout=600) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "facemask"  # the console script that installing facemask creates
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def test_folder_with_sideways_photo_and_bad_file(photo_dir, tmp_path):
    exif = Image.Exif(); exif[0x0112] = 8; exif.get_ifd(0x8825)[2] = (51.0, 30.0, 0.0)
    Image.fromarray(np.rot90(sample_image("astronaut"), -1).copy()).save(photo_dir / "sideways.jpg", exif=exif.tobytes())
    (photo_dir / "sub").mkdir()
    (photo_dir / "sub" / "readme.jpg").write_text("I am a text file")
    before = {p: p.read_bytes() for p in photo_dir.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    r = facemask(photo_dir, "-o", out, "--json", out / "d.json")
    assert r.returncode == 1, r.stderr
    assert "sub/readme.jpg" in r.stderr and "Traceback" not in r.stderr
    assert "3 of 4 photos done" in r.stderr
    assert {p: p.read_bytes() for p in photo_dir.rglob("*") if p.is_file()} == before  # originals untouched
    sideways = Image.open(out / "sideways.jpg")
    assert sideways.size == (512, 512) and len(sideways.getexif()) == 0 and "exif" not in sideways.info
    report = json.loads((out / "d.json").read_text())
    assert sorted(report) == ["astronaut.png", "grace.jpg", "sideways.jpg"]
    for key in report:
        assert len(report[key]) >= 1, f"no face found in {key}"
        x1, y1, x2, y2, score = report[key][0]
        assert x1 < x2 and y1 < y2
    # the sideways photo is read upright: its face is where the upright astronaut's face is
    np.testing.assert_allclose(report["sideways.jpg"][0][:4], report["astronaut.png"][0][:4], atol=12)
    # every detected face is covered in the output, the far corner is unchanged
    masked, original = read_rgb(out / "astronaut.png"), sample_image("astronaut")
    x1, y1, x2, y2 = map(int, report["astronaut.png"][0][:4])
    assert (masked[y1:y2, x1:x2] != original[y1:y2, x1:x2]).any(-1).mean() > 0.8
    assert (masked[-30:, :30] == original[-30:, :30]).all()


def test_default_output_is_a_sibling_folder(photo_dir):
    r = facemask(photo_dir, "--detector", "haar", "--mask", "blur", "-q")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (photo_dir.parent / "photos-masked").iterdir()) == ["astronaut.png", "grace.jpg"]


def test_refuses_to_overwrite_inputs(photo_dir):
    r = facemask(photo_dir, "-o", photo_dir)
    assert r.returncode == 2 and "output folder is an input" in r.stderr and "Traceback" not in r.stderr
    r = facemask(photo_dir / "grace.jpg", "-o", photo_dir)
    assert r.returncode == 2 and "overwrite an input" in r.stderr


def test_two_workers_match_one(photo_dir, tmp_path):
    one = facemask(photo_dir, "--detector", "haar", "--no-images", "--json", tmp_path / "1.json")
    two = facemask(photo_dir, "--detector", "haar", "--no-images", "--json", tmp_path / "2.json", "--workers", "2")
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert json.loads((tmp_path / "1.json").read_text()) == json.loads((tmp_path / "2.json").read_text())


def test_evaluate_hog_on_faces_dev(faces_dev):
    r = facemask("evaluate", faces_dev, "--detector", "hog", timeout=1200)
    assert r.returncode == 0, r.stderr
    assert "privacy recall" in (r.stdout + r.stderr).lower()
