"""rebuild.py, checked end to end: a fake WIDER FACE download made from faces-dev's own photos and annotations
(plus photos and boxes that must be left out) is rebuilt, and the result must equal faces-dev byte for byte.

    uv run --frozen pytest bench/faces_dev/test_rebuild.py

Skips when faces-dev (../shared/data/faces-dev beside the repository, or $FACEMASK_DATA) is absent."""
import hashlib, json, os, random, subprocess, sys
from pathlib import Path

import pytest
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from rebuild import FILES, convert, read_wider_gt, rebuild  # noqa: E402

DEV = Path(os.environ.get("FACEMASK_DATA") or HERE.parents[2] / "shared" / "data" / "faces-dev")
needs_dev = pytest.mark.skipif(not (DEV / "annotations.json").is_file(), reason=f"faces-dev not found at {DEV}")


def wider_line(box, invalid):
    "One WIDER box line: x y w h blur expression illumination invalid occlusion pose."
    return " ".join(map(str, [*box, 1, 0, 0, invalid, 0, 0])) + " "


def fake_wider(root: Path) -> Path:
    "A WIDER-like tree (WIDER_val/images + wider_face_split) holding faces-dev and some decoys, in shuffled order."
    ann = {e["image"]: e for e in json.loads((DEV / "annotations.json").read_text())}
    names = FILES.read_text().split()
    images = root / "WIDER_val" / "images"
    blocks = []
    for n in names:
        (images / n).parent.mkdir(parents=True, exist_ok=True)
        (images / n).symlink_to(DEV / Path(n).name)
        e = ann[Path(n).name]
        rows = [wider_line(b, 0) for b in e["faces"]] + [wider_line(b, 1) for b in e["ignore"]]
        rows.insert(len(rows) // 2, wider_line([5, 5, 0, 12], 0))  # a degenerate box: must be dropped
        blocks.append([n, str(len(rows)), *rows])
    decoy = images / "0--Parade" / "0_Parade_not_in_faces_dev.jpg"  # a photo that is not in files.txt
    Image.new("RGB", (64, 48), (90, 90, 90)).save(decoy)
    blocks.append(["0--Parade/0_Parade_not_in_faces_dev.jpg", "1", wider_line([1, 1, 10, 10], 0)])
    blocks.append(["0--Parade/0_Parade_no_face.jpg", "0", wider_line([0, 0, 0, 0], 0)])  # WIDER's empty photo
    random.Random(0).shuffle(blocks)
    (root / "wider_face_split").mkdir()
    gt = root / "wider_face_split" / "wider_face_val_bbx_gt.txt"
    gt.write_text("\n".join("\n".join(b) for b in blocks) + "\n")
    return gt


def test_convert():
    rows = [[10, 20, 30, 40, 0, 0, 0, 0, 0, 0], [5, 5, 0, 9, 0, 0, 0, 0, 0, 0],  # kept; dropped (no width)
            [90, 0, 20, 10, 0, 0, 0, 1, 0, 0], [-3, 2, 8, 8, 0, 0, 0, 0, 0, 0]]  # ignore, clipped; clipped
    assert convert(rows, (100, 80)) == ([[10, 20, 30, 40], [0, 2, 5, 8]], [[90, 0, 10, 10]])
    assert convert([], (100, 80)) == ([], [])


@needs_dev
def test_rebuild_matches_faces_dev(tmp_path):
    gt = fake_wider(tmp_path / "wider")
    assert len(read_wider_gt(gt)) == 302
    out = tmp_path / "faces-dev"
    run = subprocess.run([sys.executable, str(HERE / "rebuild.py"), str(tmp_path / "wider"), str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "300 photos" in run.stdout
    assert (out / "annotations.json").read_bytes() == (DEV / "annotations.json").read_bytes()
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in DEV.glob("*.jpg")) + ["annotations.json"]
    sha1 = {r.split(",")[0]: r.split(",")[5] for r in (DEV / "manifest.csv").read_text().split("\n")[1:] if r}
    for p in out.glob("*.jpg"):
        assert hashlib.sha1(p.read_bytes()).hexdigest() == sha1[p.name], p.name
    check = DEV.parent / "check_format.py"
    if check.is_file():
        fmt = subprocess.run([sys.executable, str(check), str(out)], capture_output=True, text=True)
        assert fmt.returncode == 0, fmt.stdout


@needs_dev
def test_rebuild_says_what_is_missing(tmp_path):
    gt = fake_wider(tmp_path / "wider")
    (tmp_path / "wider" / "WIDER_val" / "images" / FILES.read_text().split()[0]).unlink()
    run = subprocess.run([sys.executable, str(HERE / "rebuild.py"), str(tmp_path / "wider"), str(tmp_path / "o")],
                         capture_output=True, text=True)
    assert run.returncode != 0 and "missing" in run.stderr, run.stderr
    assert gt.is_file()
