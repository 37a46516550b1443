"""The Ray backend (`facemask.cluster`): on a Ray started here, the same results and JSON report as the local one."""
import os
from pathlib import Path

import pytest
from PIL import Image

os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")  # before Ray is imported (it reads it then):
ray = pytest.importorskip("ray")  # workers use this Python instead of rebuilding the project with `uv run`

from facemask.core import sample_image, save_image
from facemask.pipeline import anonymize_files, plan_jobs, write_json
from facemask.cluster import anonymize_files_ray


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    "A small folder: two sample photos, a sideways phone photo, a nested folder, a broken file, a non-photo."
    d = tmp_path_factory.mktemp("cluster") / "archive"
    save_image(sample_image("astronaut"), d / "astronaut.png")
    save_image(sample_image("grace_hopper"), d / "trip" / "grace.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(sample_image("grace_hopper")).rotate(90, expand=True).save(d / "trip" / "phone.jpg",
                                                                                exif=exif.tobytes())
    save_image(sample_image("astronaut")[::2, ::2], d / "trip" / "small.webp")
    (d / "trip" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut off")
    (d / "notes.txt").write_text("not a photo, not picked")
    return d


@pytest.fixture(scope="module")
def local_ray():
    for attempt in range(3):  # Ray's node start-up has fixed 15–30 s timeouts, which a busy machine can miss
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            break
        except Exception:
            ray.shutdown()
            if attempt == 2: raise
    yield
    ray.shutdown()


def test_same_report_as_local(archive, local_ray, tmp_path):
    local = list(anonymize_files(plan_jobs([archive], tmp_path / "local"), "yunet", "solid"))
    on_ray = list(anonymize_files_ray(plan_jobs([archive], tmp_path / "ray"), "yunet", "solid"))
    write_json(local, tmp_path / "local.json")
    write_json(on_ray, tmp_path / "ray.json")
    assert (tmp_path / "ray.json").read_text() == (tmp_path / "local.json").read_text()
    files = lambda d: sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file())
    assert files(tmp_path / "ray") == files(tmp_path / "local") == [
        "astronaut.png", "trip/grace.jpg", "trip/phone.jpg", "trip/small.webp"]
    errors = lambda rs: sorted((r.key, r.error) for r in rs if r.error)
    assert errors(on_ray) == errors(local) and [k for k, _ in errors(on_ray)] == ["trip/broken.jpg"]
    phone = Image.open(tmp_path / "ray" / "trip" / "phone.jpg")
    assert phone.size == (512, 600) and len(phone.getexif()) == 0  # upright, no metadata, as locally
    assert {r.key: r.notes for r in on_ray} == {r.key: r.notes for r in local}


def test_detect_only_and_bad_names(archive, local_ray, tmp_path):
    jobs = plan_jobs([archive], tmp_path / "none")
    found = {r.key: r.detections for r in anonymize_files_ray(jobs, "yunet", None)}
    assert len(found) == 5 and not (tmp_path / "none").exists()  # no images written without a mask
    from facemask.core import FacemaskError
    with pytest.raises(FacemaskError, match="unknown detector"): list(anonymize_files_ray(jobs, "nope"))
    assert list(anonymize_files_ray([], "yunet")) == []


def test_command_backend_ray_same_json(archive, local_ray, tmp_path):
    "What a user runs: `facemask ... --backend ray --address A --json` writes the report `--backend local` writes."
    import subprocess, sys
    facemask = str(Path(sys.executable).with_name("facemask"))
    run = lambda *args: subprocess.run([facemask, *map(str, args)], capture_output=True, text=True, timeout=900)
    common = [archive, "--detector", "yunet", "--mask", "solid", "-q"]
    local = run(*common, "-o", tmp_path / "local", "--json", tmp_path / "local.json")
    address = ray.get_runtime_context().gcs_address  # join the test's Ray rather than start a second one
    on_ray = run(*common, "-o", tmp_path / "ray", "--json", tmp_path / "ray.json", "--backend", "ray",
                 "--address", address)
    assert (on_ray.returncode, local.returncode) == (1, 1), on_ray.stderr[-2000:]  # broken.jpg fails in both
    assert "Traceback" not in on_ray.stderr
    assert (tmp_path / "ray.json").read_text() == (tmp_path / "local.json").read_text()
    assert on_ray.stderr.strip().splitlines()[-1].split(",")[:3] == local.stderr.strip().splitlines()[-1].split(",")[:3]
