"""Bad and unusual inputs, as a user throws them at facemask: `read_photo`, the command line and the app's upload
path each answer with one line that names the file, never hang, never lose an original and never claim a face is
covered when it is not.  Every file is generated here, small; the pipe and endless-stream cases run under a timeout."""
import io, json, os, stat, struct, subprocess, sys, zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from facemask.core import FacemaskError, read_photo, sample_image, save_image

pytestmark = pytest.mark.timeout(300)


def facemask(*args, timeout=240) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "facemask"
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def png_with_huge_text(rgb: np.ndarray) -> bytes:
    "A valid PNG with a zTXt chunk that unpacks past Pillow's limit, before the pixels."
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    data = buf.getvalue()
    payload = b"Comment\x00\x00" + zlib.compress(b"A" * (PngImagePlugin.MAX_TEXT_CHUNK + 1000), 9)
    crc = struct.pack(">I", zlib.crc32(b"zTXt" + payload) & 0xFFFFFFFF)
    return data[:33] + struct.pack(">I", len(payload)) + b"zTXt" + payload + crc + data[33:]


def cut_tiff(rgb: np.ndarray) -> bytes:
    "A two-page TIFF cut to a third of its length."
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "TIFF", save_all=True, append_images=[Image.fromarray(rgb[::-1])])
    return buf.getvalue()[: len(buf.getvalue()) // 3]


@pytest.fixture
def corpus(tmp_path) -> dict[str, Path]:
    "Bad entries by what they are; every one must be refused on its own."
    d = tmp_path / "bad"
    d.mkdir()
    astro = sample_image("astronaut")
    os.mkfifo(d / "pipe.jpg")
    os.symlink("/dev/zero", d / "zeros.jpg")
    os.symlink("loop.jpg", d / "loop.jpg")
    os.symlink("gone.jpg", d / "dangling.jpg")
    (d / "pages.tif").write_bytes(cut_tiff(astro))
    (d / "text.jpg").write_text("not a photo")
    (d / "empty.png").write_bytes(b"")
    (d / "heic.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00broken\nacross lines")
    return {p.name: p for p in d.iterdir()}


def test_read_photo_refuses_each_bad_entry_in_one_line(corpus):
    for name, path in corpus.items():
        with pytest.raises(FacemaskError) as e: read_photo(path)
        msg = str(e.value)
        assert name in msg and "\n" not in msg, msg


def test_read_photo_caps_the_bytes_it_reads(tmp_path):
    p = tmp_path / "big.png"
    save_image(sample_image("astronaut"), p)
    with pytest.raises(FacemaskError, match="larger than"): read_photo(p, max_bytes=10_000)
    with pytest.raises(FacemaskError, match="larger than"): read_photo(p.read_bytes(), max_bytes=10_000)


def test_read_photo_keeps_the_pixels_of_a_png_with_a_huge_text_chunk():
    astro = sample_image("astronaut")
    photo = read_photo(png_with_huge_text(astro), name="comment.png")
    assert (photo.rgb == astro).all() and photo.notes == ["ignored an oversized text chunk"]


def test_cli_finishes_a_messy_folder(corpus, tmp_path):
    d = next(iter(corpus.values())).parent
    grace = sample_image("grace_hopper")
    save_image(grace, d / "IMG_0001.jpg")
    import pillow_heif
    pillow_heif.register_heif_opener()
    Image.fromarray(grace).save(d / "IMG_0001.heic", "HEIF")
    Image.fromarray(grace).save(d / "a.bmp")
    save_image(grace, d / "a.png")
    save_image(grace, d / "chat.jfif", format="JPEG")
    save_image(grace, d / "NOSUFFIX", format="JPEG")
    long_name = "y" * 240 + ".jpg"  # 244 bytes
    save_image(grace, d / long_name)
    e = Image.Exif()
    e[0x0112] = 9  # not an orientation
    Image.fromarray(grace).save(d / "odd_tag.jpg", exif=e.tobytes())
    (d / "sidecar.aae").write_text("<plist/>")
    before = {p.name: p.read_bytes() for p in d.iterdir() if p.is_file() and not p.is_symlink()
              and stat.S_ISREG(p.stat().st_mode)}
    old = os.umask(0o022)
    try: r = facemask(d, "-o", tmp_path / "out", "--detector", "yunet", "--json", tmp_path / "out" / "r.json")
    finally: os.umask(old)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    for name in corpus:
        assert sum(name in line for line in lines[:-1]) == 1, (name, r.stderr)
    assert all(l.startswith(("error: ", "warning: ")) for l in lines[:-1]), r.stderr
    outs = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert outs == sorted(["IMG_0001.jpg", "IMG_0001.heic.jpg", "a.png", "a.bmp.png", "chat.jpg", "NOSUFFIX.jpg",
                           long_name, "odd_tag.jpg", "r.json"]), outs
    assert all(stat.S_IMODE((tmp_path / "out" / n).stat().st_mode) == 0o644 for n in outs)
    summary = lines[-1]
    assert f"8 of {8 + len(corpus)} photos done" in summary and "1 file skipped" in summary, summary
    assert "2 renamed" in summary, summary
    report = json.loads((tmp_path / "out" / "r.json").read_text())
    assert len(report) == 8 and all(len(v) >= 1 for v in report.values())
    after = {p.name: p.read_bytes() for p in d.iterdir() if p.name in before}
    assert after == before  # every original untouched


@pytest.mark.parametrize("args, says", [
    (["--scale", "0"], "--scale 0: would leave part of every face visible"),
    (["--scale", "-1"], "--scale -1: would leave part"),
    (["--scale", "nan"], "--scale nan"),
    (["--scale", "inf"], "--scale inf"),
    (["--scale", "100"], "--scale 100: is larger than any face needs"),
    (["--workers", "0"], "--workers 0"),
    (["--no-images"], "--no-images"),
])
def test_usage_errors_come_before_any_work(photo_dir, tmp_path, args, says):
    r = facemask(photo_dir, "-o", tmp_path / "out", *args)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [r.stderr.strip()], r.stderr
    assert says in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()  # nothing was done


def test_unusable_outputs_are_usage_errors(photo_dir, tmp_path):
    a_file = photo_dir / "astronaut.png"
    for args, says in [(["-o", a_file], "is not a folder"), (["-o", a_file / "sub"], "is not a folder"),
                       (["--json", a_file / "r.json"], "is not a folder"), (["--json", photo_dir], "is a folder")]:
        r = facemask(photo_dir, *args, "--detector", "haar")
        assert r.returncode == 2 and says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert sorted(p.name for p in photo_dir.parent.iterdir()) == ["photos"]  # no output folder was made


def test_summary_never_claims_a_partly_covered_face(photo_dir, tmp_path):
    r = facemask(photo_dir / "astronaut.png", "-o", tmp_path, "--detector", "yunet", "--mask", "solid",
                 "--scale", "1.0")
    assert r.returncode == 0, r.stderr
    assert "1 face found, 0 covered (1 only partly" in r.stderr, r.stderr
    assert "warning:" in r.stderr and "astronaut.png" in r.stderr
    r = facemask(photo_dir / "astronaut.png", "-o", tmp_path / "b", "--detector", "yunet", "--mask", "solid")
    assert "1 face found, 1 covered," in r.stderr, r.stderr
