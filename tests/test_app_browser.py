"""The Voilà app in a real browser: upload, switch detector and mask, leave a face uncovered (with its
tick, then by clicking it on the photo), drag a box over a part the detector missed, download, check the
files; then download the labels (read back with `facemask evaluate`'s reader), group the faces by person
and switch a person's keep on and off, and upload a broken and a good video and download it masked.

Drives Debian's chromium through Playwright (`playwright install` is not needed). Skips where /usr/bin/chromium
is absent. A screenshot is kept in tests/artifacts/app.png.
"""
import io, os, re, shutil, signal, socket, subprocess, sys, time, urllib.request, zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facemask.core import read_rgb, sample_image, sample_path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
DETECTOR = os.environ.get("FACEMASK_TEST_DETECTOR", "yunet")  # the detector the test switches to (the app starts with "auto")
MASK = "pixelate"    # the mask the test switches to (the app starts with "emoji")
DRAGGED = (20, 400, 110, 490)  # x1 y1 x2 y2 in the astronaut's pixels: her sleeve, far from her face, dragged across

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    "The app served by `python -m facemask.app` (what `make app` runs) on a free port; its log is in tests/artifacts/voila.log."
    if not CHROMIUM.exists(): pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "voila.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "facemask.app", "--port", str(port)], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(240):
            if proc.poll() is not None: pytest.fail(f"the app exited: {(ARTIFACTS / 'voila.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(url + "voila/static/voila.js", timeout=2); break  # noqa: S310 (loopback)
            except OSError: time.sleep(0.5)
        else: pytest.fail("the app did not start within 2 minutes")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try: proc.wait(20)
        except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait()
        log.close()


@pytest.fixture
def photos(tmp_path) -> tuple[Path, Path, Path]:
    "The astronaut as PNG, Grace Hopper as a phone JPEG stored sideways with EXIF orientation 6, and a broken file."
    astro = tmp_path / "astronaut.png"
    shutil.copy(sample_path("astronaut"), astro)
    exif = Image.Exif(); exif[0x0112] = 6  # "rotate 90° clockwise to view"
    exif.get_ifd(0x8825)[2] = (51.0, 30.0, 0.0)  # a GPS position that must not survive
    phone = tmp_path / "grace_phone.jpg"
    Image.open(sample_path("grace_hopper")).transpose(Image.Transpose.ROTATE_90).save(phone, exif=exif.tobytes(), quality=95)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(phone.read_bytes()[:3000])
    return astro, phone, broken


@pytest.fixture
def clips(tmp_path) -> tuple[Path, Path]:
    "Two seconds of the astronaut sliding across a grey background, and the same clip cut in half."
    from facemask.video import write_clip
    face = sample_image("astronaut")[::2, ::2][:200, :200]
    frames = []
    for i in range(20):
        frame = np.full((240, 320, 3), 90, np.uint8)
        frame[20:220, 10 + 4 * i:210 + 4 * i] = face
        frames.append(frame)
    clip = write_clip(tmp_path / "clip.mp4", frames, fps=10)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    return clip, broken


def expected_faces(path: Path):
    "What the app's detector finds in the upright photo, computed here the way the app does."
    from facemask.pipeline import get_detector
    return get_detector(DETECTOR)(read_rgb(path)).xyxy


def far_from(boxes: np.ndarray, shape, margin: float = 0.5) -> np.ndarray:
    "Boolean (H, W): pixels farther than `margin` box sizes from every box."
    ok = np.ones(shape[:2], bool)
    for x1, y1, x2, y2 in boxes:
        w, h = x2 - x1, y2 - y1
        ok[max(0, int(y1 - margin * h)):int(y2 + margin * h), max(0, int(x1 - margin * w)):int(x2 + margin * w)] = False
    return ok


def on_picture(img, xy, size_wh) -> tuple[float, float]:
    "Where a point of the photo (x y in its pixels) is on the page, in the picture `img` (a locator) showing its preview."
    bb, nat = img.bounding_box(), img.evaluate("el => [el.naturalWidth, el.naturalHeight]")  # the preview's size
    k = nat[0] / size_wh[0]  # photo -> preview, as the app scaled it
    return float(bb["x"] + (xy[0] * k + 0.5) * bb["width"] / nat[0]), float(bb["y"] + (xy[1] * k + 0.5) * bb["height"] / nat[1])


def test_upload_exclude_download(server, photos, clips, tmp_path):
    from playwright.sync_api import expect, sync_playwright
    astro, phone, broken = photos
    clip, broken_clip = clips
    t0 = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(90_000)
        try:
            page.goto(server)
            upload = page.locator("button.widget-upload", has_text="Add photos")
            expect(upload).to_contain_text("Add photos")
            expect.set_options(timeout=90_000)
            status = page.locator(".facemask-status", has_text="Found")

            # upload two photos and a broken file: a friendly message for the broken one, the others work
            with page.expect_file_chooser() as fc: upload.click()
            fc.value.set_files([str(astro), str(phone), str(broken)])
            messages = page.locator(".facemask-messages")
            expect(messages).to_contain_text("broken.jpg: the file is truncated or corrupt")
            expect(messages).to_contain_text("grace_phone.jpg: rotated upright (EXIF orientation 6)")
            expect(status).to_contain_text("in 2 photos")
            expect(page.locator(".facemask-faces .widget-checkbox", has_text="#0")).to_be_visible()
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "app.png"))

            # switch the detector: the run button asks for a new search; run it
            page.locator(".widget-dropdown", has_text="Detector").locator("select").select_option(DETECTOR)
            expect(page.locator(".facemask-status")).to_contain_text("Settings changed")
            page.get_by_role("button", name="Find faces").click()
            expect(status).to_contain_text(f"with {DETECTOR}")
            # switch the mask; leave face #0 of the astronaut (the photo shown) uncovered
            page.locator(f"button[data-value='{MASK}']").click()
            expect(page.locator(f"button[data-value='{MASK}']")).to_have_class(re.compile("mod-active"))
            box = page.locator(".facemask-faces .widget-checkbox", has_text="#0").locator("input")
            box.uncheck()
            expect(box).not_to_be_checked()
            # the same face clicked on the before picture: covered again (its tick comes back), clicked again: uncovered
            before = page.locator("img.facemask-before")
            expect(page.locator(".facemask-photo-hint")).to_contain_text("Click a face")
            expect(before).to_have_css("cursor", "crosshair")
            before.scroll_into_view_if_needed()
            size = read_rgb(astro).shape[1::-1]
            x1, y1, x2, y2 = expected_faces(astro)[0]
            face = on_picture(before, ((x1 + x2) / 2, (y1 + y2) / 2), size)
            page.mouse.click(*face)
            expect(box).to_be_checked()
            page.mouse.click(*face)
            expect(box).not_to_be_checked()
            for _ in range(3):  # a person double-clicking: two toggles, the second while the picture redraws
                page.mouse.click(*face)
                page.wait_for_timeout(150)
                page.mouse.click(*face)
                page.wait_for_timeout(1500)
                expect(box).not_to_be_checked()
            # drag across a part of the photo with no face found: it becomes an added box to cover
            added = page.locator(".facemask-faces .widget-checkbox", has_text="added box")
            expect(added).to_have_count(0)
            page.mouse.move(*on_picture(before, DRAGGED[:2], size))
            page.wait_for_timeout(300)  # at a person's pace: the kernel has answered the clicks before the drag starts
            page.mouse.down()
            page.wait_for_timeout(100)
            page.mouse.move(*on_picture(before, DRAGGED[2:], size), steps=12)
            page.wait_for_timeout(100)
            page.mouse.up()
            expect(added).to_have_count(1)
            expect(added.locator("input")).to_be_checked()
            expect(box).not_to_be_checked()  # the drag left face #0 alone
            # download: one zip with both photos
            page.get_by_role("button", name="Prepare download").click()
            link = page.locator("a.facemask-download")
            expect(link).to_contain_text("facemask-photos.zip")
            with page.expect_download() as dl: link.click()
            zpath = tmp_path / "result.zip"
            dl.value.save_as(zpath)
            page.screenshot(path=str(ARTIFACTS / "app-after.png"))

            # labels: the photos and the ticked boxes as a dataset `facemask evaluate` reads
            page.get_by_role("button", name="Download labels").click()
            labels_link = page.locator(".facemask-labels a")
            expect(labels_link).to_contain_text("facemask-labels.zip")
            with page.expect_download() as dl: labels_link.click()
            lpath = tmp_path / "labels.zip"
            dl.value.save_as(lpath)

            # people: group the faces; person 1 is the astronaut (her face comes first); keep her, then not
            page.get_by_role("button", name="Group by person").click()
            people = page.locator(".facemask-people")
            expect(people).to_contain_text("Person 2")
            keep = people.locator("button", has_text="keep uncovered").first
            keep.click()
            expect(keep).to_have_class(re.compile("mod-active"))
            expect(box).not_to_be_checked()  # her face stays uncovered
            keep.click()
            expect(keep).not_to_have_class(re.compile("mod-active"))
            expect(box).to_be_checked()  # covered again, as everywhere else she is

            # a video: a broken one gets one message naming it, a good one is masked and downloaded
            video = page.locator(".facemask-video")
            expect(video).to_contain_text("up to 25 MB")
            add_video = page.locator("button.widget-upload", has_text="Add a video")
            with page.expect_file_chooser() as fc: add_video.click()
            fc.value.set_files([str(broken_clip)])
            expect(page.locator(".facemask-video-messages")).to_contain_text("broken.mp4:")
            with page.expect_file_chooser() as fc: add_video.click()
            fc.value.set_files([str(clip)])
            expect(page.locator(".facemask-video-status")).to_contain_text("20 frames")
            expect(page.locator(".facemask-video-status")).to_contain_text("1 face in frame 10")
            page.get_by_role("button", name="Mask the video").click()
            video_link = page.locator(".facemask-video-link a")
            expect(video_link).to_contain_text("clip-masked.mp4")
            with page.expect_download() as dl: video_link.click()
            vpath = tmp_path / "clip-masked.mp4"
            dl.value.save_as(vpath)
            page.screenshot(path=str(ARTIFACTS / "app-video.png"))
        except Exception:  # what the page showed when it failed, for whoever reads the CI log
            page.screenshot(path=str(ARTIFACTS / "app-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    elapsed = time.monotonic() - t0

    z = zipfile.ZipFile(zpath)
    assert sorted(z.namelist()) == ["astronaut-masked.png", "grace_phone-masked.jpg"]
    for name, src in [("astronaut-masked.png", astro), ("grace_phone-masked.jpg", phone)]:
        im = Image.open(io.BytesIO(z.read(name)))
        assert len(im.getexif()) == 0 and "exif" not in im.info, f"{name} kept its metadata"
        original = read_rgb(src)  # upright
        assert im.size == (original.shape[1], original.shape[0]), f"{name}: size {im.size} (upright is {original.shape[1::-1]})"
        out = np.asarray(im.convert("RGB")).astype(int)
        faces = expected_faces(src)
        assert len(faces) >= 1, f"{DETECTOR} finds no face in {src.name}"
        dragged = [DRAGGED] if name.startswith("astronaut") else []
        far = far_from(np.array([*faces, *dragged]), original.shape)
        assert far.mean() > 0.2
        diff = np.abs(out - original).max(-1)
        tolerance = 0 if name.endswith(".png") else 40  # JPEG re-encoding
        assert np.percentile(diff[far], 99) <= max(tolerance, 0), f"{name}: changed far from the faces"
        for i, (x1, y1, x2, y2) in enumerate(faces.astype(int)):
            inside = diff[y1:y2, x1:x2]
            if name.startswith("astronaut") and i == 0:
                assert (inside == 0).mean() > 0.95, "face #0 of the astronaut was left uncovered in the page"
            else:
                assert (inside > 15).mean() > 0.3, f"{name}: face #{i} is not covered"
        for x1, y1, x2, y2 in dragged:  # inside, not on the edges: where the mouse went is known to a pixel or two
            assert (diff[y1 + 5:y2 - 5, x1 + 5:x2 - 5] > 15).mean() > 0.3, f"{name}: the dragged box is not covered"
    # the labels: astronaut's face #0 was left uncovered (not labelled), the dragged box was added
    from facemask.evaluate import load_simple
    zipfile.ZipFile(lpath).extractall(tmp_path / "labels")
    labelled = {a.key: a for a in load_simple(tmp_path / "labels" / "facemask-labels")}
    assert sorted(labelled) == ["astronaut.png", "grace_phone.jpg"]
    a, g = labelled["astronaut.png"], labelled["grace_phone.jpg"]
    assert a.size_wh == (512, 512) and g.size_wh == read_rgb(phone).shape[1::-1]  # upright
    assert len(g.faces_xyxy) == len(expected_faces(phone))
    faces_a = expected_faces(astro)
    assert len(a.faces_xyxy) == len(faces_a)  # minus face #0, plus the dragged box
    assert np.abs(a.faces_xyxy - np.array(DRAGGED)).max(1).min() <= 3, "the dragged box is missing"
    assert np.abs(a.faces_xyxy - faces_a[0]).max(1).min() > 20, "the unticked face #0 is labelled"

    # the video: as long as the clip, the face covered
    from facemask.video import probe_video
    from facemask.video_panel import frame_at
    info = probe_video(vpath)
    assert (info.n_frames, info.size_wh) == (20, (320, 240))
    diff = np.abs(frame_at(vpath, 10).astype(int) - frame_at(clip, 10).astype(int)).max(-1)
    x0 = 10 + 4 * 10  # where the picture is in frame 10; her face is at x 91-135, y 35-87 in it
    assert (diff[60:100, x0 + 95:x0 + 130] > 15).mean() > 0.3, "the face in the video is uncovered"
    assert (diff[:, 290:] > 15).mean() < 0.05, "the video changed far from the face"
    assert elapsed < 180, f"the browser session took {elapsed:.0f} s"
