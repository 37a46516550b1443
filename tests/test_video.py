"Video end to end on clips made inside the tests: timing, frame count, sound, tags, rotation, coverage, bad files."
import json, subprocess, sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from facemask.core import sample_image
from facemask.pipeline import get_detector
from facemask.track import covered_share
from facemask.video import anonymize_video, probe_video, read_frames, write_clip

PLACE = "+48.8584+002.2945/"


def facemask(*args, timeout=600) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "facemask"
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def walk():
    "A face walking right and growing, blurred for 6 frames in the middle: frames and true boxes (upright)."
    rgb = sample_image("astronaut")
    f = get_detector("fast")(rgb)
    x1, y1, x2, y2 = f.xyxy[np.argmax(f.scores)]
    crop = rgb[int(max(0, y1 - 40)):int(y2 + 40), int(max(0, x1 - 40)):int(x2 + 40)]
    fx1, fy1 = x1 - max(0, x1 - 40), y1 - max(0, y1 - 40)
    fw, fh = x2 - x1, y2 - y1
    frames, boxes = [], []
    for i in range(48):
        k = (40 + i) / fh  # face height 40 → 87 px
        sprite = cv2.resize(crop, (round(crop.shape[1] * k), round(crop.shape[0] * k)), interpolation=cv2.INTER_AREA)
        if 20 <= i < 26: sprite = cv2.GaussianBlur(sprite, (0, 0), 9)  # motion blur: a per-frame detector blinks
        img = np.full((180, 320, 3), (120, 140, 130), np.uint8)
        x0, y0 = 10 + 3 * i, 20
        h, w = min(sprite.shape[0], 180 - y0), min(sprite.shape[1], 320 - x0)
        img[y0:y0 + h, x0:x0 + w] = sprite[:h, :w]
        frames.append(img)
        boxes.append(np.float32([x0 + fx1 * k, y0 + fy1 * k, x0 + (fx1 + fw) * k, y0 + (fy1 + fh) * k]))
    times = list(np.cumsum([0] + [1 / 30 if i % 4 else 1 / 20 for i in range(47)]))  # a variable frame rate
    return frames, np.stack(boxes), times


@pytest.fixture
def clip(tmp_path, walk) -> Path:
    "The walk as a phone would store it: sideways with a rotation tag, AAC sound, the place and the camera."
    frames, _, times = walk
    (tmp_path / "in").mkdir()
    return write_clip(tmp_path / "in" / "walk.mp4", frames, pts_s=times, tone_s=times[-1] + 1 / 30, rotation=270,
                      metadata={"location": PLACE, "make": "Apple", "model": "iPhone 15"})


def frame_times(path) -> np.ndarray:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return np.array([float(f.pts * f.time_base) for f in c.decode(v)])


def test_timing_sound_tags_rotation_and_coverage(clip, walk, tmp_path):
    frames, boxes, times = walk
    out = tmp_path / "out.mp4"
    res = anonymize_video(clip, out, "fast", "solid", json_path=tmp_path / "t.json")
    info, src = probe_video(out), probe_video(clip)
    assert (info.n_frames, info.size_wh, info.rotation) == (48, (320, 180), 0)
    assert res.notes == ["rotated upright (270°)"]
    np.testing.assert_allclose(frame_times(out), times, atol=1e-3)      # variable frame rate kept
    assert info.duration_s == pytest.approx(src.duration_s, abs=1e-3)
    assert info.audio == "aac" and res.sound == "copied (aac)"
    assert not {k for k in info.metadata if "location" in k or k in ("make", "model")}
    assert PLACE.encode() not in out.read_bytes() and b"iPhone" not in out.read_bytes()
    shares = [covered_share(b[None], rgb.max(-1) < 40)[0] for b, (_, rgb) in zip(boxes, read_frames(out))]
    assert min(shares) >= 0.9, f"frames with the face under 90 % covered: {np.flatnonzero(np.array(shares) < 0.9)}"
    # outside the face the picture is the input's, upright
    _, first = next(read_frames(out))
    assert np.abs(first[150:, 250:].astype(int) - frames[0][150:, 250:]).mean() < 4
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["n_frames"] == 48 and all(len(rows) >= 1 for rows in data["frames"])


def test_per_frame_detection_blinks_where_tracking_does_not(walk):
    frames, boxes, _ = walk
    det = get_detector("fast")
    found = [len(det(f)) for f in frames[20:26]]
    assert min(found) == 0, "the blurred stretch no longer makes the detector blink; make it harder"


def test_drop_sound_keep_tags_detect_every_and_from_json(clip, tmp_path):
    res = anonymize_video(clip, tmp_path / "a.mp4", "fast", "blur", audio="drop", keep_metadata=True,
                          detect_every=4, json_path=tmp_path / "a.json")
    info = probe_video(tmp_path / "a.mp4")
    assert info.audio is None and res.sound == "dropped"
    assert info.metadata.get("location") == PLACE
    assert res.n_detections <= 12  # looked at 12 of 48 frames
    data = json.loads((tmp_path / "a.json").read_text())
    data["frames"][0].append([99, 0, 0, 40, 40, 1.0])  # a reviewer adds a face in the first frame
    (tmp_path / "b.json").write_text(json.dumps(data))
    again = anonymize_video(clip, tmp_path / "b.mp4", mask="solid", from_json=tmp_path / "b.json")
    assert again.n_detections == res.n_detections
    _, first = next(read_frames(tmp_path / "b.mp4"))
    assert first[10:30, 10:30].max() < 40  # the added box is covered


def test_sound_reencoded_when_mp4_cannot_hold_it(walk, tmp_path):
    frames, _, _ = walk
    src = write_clip(tmp_path / "pcm.mkv", frames[:12], fps=25, tone_s=0.5, audio_codec="pcm_s16le")
    res = anonymize_video(src, tmp_path / "pcm.mp4", "fast", "blur")
    assert res.sound == "re-encoded (pcm_s16le to aac)"
    assert probe_video(tmp_path / "pcm.mp4").audio == "aac"


def test_bad_videos(clip, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.mp4").write_bytes(b"")
    (bad / "text.mov").write_text("not a video")
    (bad / "cut.mp4").write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    with av.open(str(bad / "sound.mp4"), "w") as c:
        a = c.add_stream("aac", rate=48000, layout="mono")
        for s in range(0, 48000, 1024):
            f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="flt", layout="mono")
            f.sample_rate, f.pts = 48000, s
            c.mux(a.encode(f))
        c.mux(a.encode())
    write_clip(bad / "huge.mp4", [np.zeros((2200, 3900, 3), np.uint8)] * 2)
    with av.open(str(tmp_path / "faststart.mp4"), "w", options={"movflags": "faststart"}) as c:  # index first
        v = c.add_stream("libx264", rate=30)
        v.width, v.height, v.pix_fmt = 320, 180, "yuv420p"
        for k in range(60):
            c.mux(v.encode(av.VideoFrame.from_ndarray(np.full((180, 320, 3), k * 4, np.uint8), format="rgb24")))
        c.mux(v.encode())
    whole = (tmp_path / "faststart.mp4").read_bytes()
    (bad / "codec.mp4").write_bytes(clip.read_bytes().replace(b"avc1", b"zzz9"))  # a codec FFmpeg does not know
    (bad / "halfway.mp4").write_bytes(whole[: int(len(whole) * 0.6)])  # the index promises frames that are gone
    expect = {"empty.mp4": "empty", "text.mov": "not a video", "cut.mp4": "cut.mp4", "sound.mp4": "no video stream",
              "huge.mp4": "larger than the limit", "halfway.mp4": "truncated", "codec.mp4": "cannot be decoded"}
    for name, words in expect.items():
        with pytest.raises(Exception) as e: anonymize_video(bad / name, tmp_path / "o" / name, "fast")
        assert type(e.value).__name__ == "FacemaskError" and words in str(e.value) and name in str(e.value)
        assert "\n" not in str(e.value)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())  # nothing half-written


def test_cli_one_video_json_then_from_json(clip, tmp_path):
    r = facemask(clip, "--detector", "fast", "--json", tmp_path / "t.json")
    assert r.returncode == 0, r.stderr
    out = clip.with_name("walk-masked.mp4")
    info = probe_video(out)
    assert (info.n_frames, info.audio, info.rotation, info.size_wh) == (48, "aac", 0, (320, 180))
    assert "1 of 1 video done" in r.stderr and "voices are not anonymized" in r.stderr, r.stderr
    report = json.loads((tmp_path / "t.json").read_text())
    assert report["walk.mp4"]["n_frames"] == 48
    r = facemask(clip, "--from-json", tmp_path / "t.json", "--audio", "drop", "--mask", "solid", "-o", tmp_path / "o")
    assert r.returncode == 0, r.stderr
    again = probe_video(tmp_path / "o" / "walk.mp4")
    assert again.audio is None and again.n_frames == 48 and "voices" not in r.stderr
    r = facemask(clip, "--detect-every", "0")
    assert r.returncode == 2 and "--detect-every 0" in r.stderr and "Traceback" not in r.stderr


def test_cli_folder_of_photos_videos_and_a_broken_video(clip, tmp_path):
    from facemask.core import save_image
    folder = clip.parent
    save_image(sample_image("grace_hopper"), folder / "grace.jpg")
    (folder / "broken.mov").write_bytes(clip.read_bytes()[:5000])
    before = {p: p.read_bytes() for p in folder.iterdir()}
    r = facemask(folder, "--detector", "fast", "--workers", "2", "-q")
    assert r.returncode == 1, r.stderr
    assert "broken.mov" in r.stderr and "Traceback" not in r.stderr
    assert "2 of 3 files (1 photo, 2 videos) done" in r.stderr, r.stderr
    out = folder.parent / "in-masked"
    assert sorted(p.name for p in out.iterdir()) == ["grace.jpg", "walk.mp4"]  # nothing half-written for broken.mov
    assert probe_video(out / "walk.mp4").n_frames == 48
    assert {p: p.read_bytes() for p in folder.iterdir()} == before  # originals untouched


def test_keep_and_per_person(clip, walk, tmp_path):
    "A kept person stays visible in every frame; a stranger stays covered; per person, one emoji per person."
    from facemask.core import save_image
    from facemask.identity import load_references
    _, boxes, _ = walk
    det = get_detector("fast")
    me = load_references([save_image(sample_image("astronaut"), tmp_path / "me.jpg")], det)
    other = load_references([save_image(sample_image("grace_hopper"), tmp_path / "other.jpg")], det)
    kept = anonymize_video(clip, tmp_path / "kept.mp4", det, "solid", keep=me)
    covered = anonymize_video(clip, tmp_path / "covered.mp4", det, "solid", keep=other)
    dark = lambda p: [covered_share(b[None], rgb.max(-1) < 40)[0] for b, (_, rgb) in zip(boxes, read_frames(p))]
    assert kept.kept and max(dark(tmp_path / "kept.mp4")) < 0.1, kept        # visible in every frame
    assert not covered.kept and min(dark(tmp_path / "covered.mp4")) >= 0.9   # a stranger to `other`: covered
    assert any("kept visible" in n for n in kept.notes)
    r = facemask(clip, "--detector", "fast", "--keep", tmp_path / "me.jpg", "-o", tmp_path / "cli", "-q")
    assert r.returncode == 0 and "(1 kept visible: they match a --keep photo)" in r.stderr, r.stderr
    r = facemask(clip, "--detector", "fast", "--emoji", "per-person", "-o", tmp_path / "pp", "-q")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert probe_video(tmp_path / "pp" / "walk.mp4").n_frames == 48
