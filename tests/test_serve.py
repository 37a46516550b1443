"""The web API (`facemask serve`): in-process with FastAPI's TestClient, and a real uvicorn on loopback."""
import io, socket, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from PIL import Image

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from facemask.core import sample_image, sample_path
from facemask.serve import make_app, main_serve

GRACE = sample_path("grace_hopper").read_bytes()  # 512×600 JPEG, one face


def jpeg(rgb, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", **save)
    return buf.getvalue()


def phone_photo() -> bytes:
    "Grace Hopper stored sideways with EXIF orientation 6 and a GPS position, as a phone saves it."
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8825)[2] = (51.0, 30.0, 0.0)
    buf = io.BytesIO()
    Image.fromarray(sample_image("grace_hopper")).rotate(90, expand=True).save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


@pytest.fixture(scope="module")
def client():
    return TestClient(make_app(max_mb=2, max_pixels=20_000_000))


def test_anonymize_image_out(client):
    r = client.post("/v1/anonymize?detector=yunet", files={"file": ("g.jpg", GRACE, "image/jpeg")})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg" and r.headers["x-faces"] == "1"
    out = Image.open(io.BytesIO(r.content))
    assert (out.format, out.size) == ("JPEG", (512, 600))
    png = client.post("/v1/anonymize?detector=yunet&mask=solid", content=_png(sample_image("astronaut")))
    assert png.status_code == 200 and Image.open(io.BytesIO(png.content)).format == "PNG"


def _png(rgb) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def test_no_exif_and_upright(client):
    r = client.post("/v1/anonymize?detector=yunet", content=phone_photo())
    out = Image.open(io.BytesIO(r.content))
    assert r.status_code == 200 and out.size == (512, 600)  # turned upright
    assert len(out.getexif()) == 0 and "exif" not in out.info  # no EXIF, no GPS
    d = client.post("/v1/detect?detector=yunet", content=phone_photo()).json()
    assert (d["width"], d["height"]) == (512, 600)
    assert d["notes"] == ["rotated upright (EXIF orientation 6)"]
    upright = client.post("/v1/detect?detector=yunet", content=GRACE).json()
    (face,), (same,) = d["faces"], upright["faces"]
    assert all(abs(a - b) <= 8 for a, b in zip(face["box"], same["box"]))  # same place as on the upright photo
    assert 0 <= face["box"][0] < face["box"][2] <= 512 and 0 <= face["box"][1] < face["box"][3] <= 600


def test_json_format_and_registry(client):
    j = client.post("/v1/anonymize?detector=yunet&format=json", content=GRACE)
    assert j.status_code == 200 and len(j.json()["faces"]) == 1 and 0 < j.json()["faces"][0]["score"] <= 1
    empty = client.post("/v1/detect?detector=yunet", content=_png(sample_image("astronaut")[:80, :80] * 0))
    assert empty.json()["faces"] == []  # a blank photo: no faces, same shape of answer
    from facemask.pipeline import DETECTORS, MASKS
    assert [d["name"] for d in client.get("/v1/detectors").json()] == list(DETECTORS)
    assert [m["name"] for m in client.get("/v1/masks").json()] == list(MASKS)
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/openapi.json").json()["paths"]["/v1/anonymize"]


@pytest.mark.parametrize("body, query, status, words", [
    (b"", "", 400, "empty"),
    (b"<html>not a photo</html>", "", 415, "not a photo"),
    (GRACE[: len(GRACE) // 2], "?detector=yunet", 400, "truncated"),
    (GRACE, "?detector=nope", 400, "unknown detector"),
    (GRACE, "?mask=blur&emoji=:cat_face:", 400, "only applies"),
    (GRACE, "?scale=-1", 400, "scale"),
    (GRACE, "?format=xml", 400, "format"),
])
def test_refusals(client, body, query, status, words):
    r = client.post(f"/v1/anonymize{query}", content=body)
    assert r.status_code == status and words in r.json()["error"] and "\n" not in r.json()["error"]


def test_bomb(client):
    buf = io.BytesIO()
    Image.new("L", (6000, 5000)).save(buf, "PNG")  # 30 MP, 30 kB on the wire
    r = client.post("/v1/detect", files={"file": ("small.png", buf.getvalue(), "image/png")})
    assert r.status_code == 400 and "30 MP" in r.json()["error"]


def test_too_large(client):
    assert client.post("/v1/detect", content=b"\0" * (3 * 2**20)).status_code == 413  # Content-Length
    def chunks():  # no Content-Length: counted while streaming
        for _ in range(40): yield b"\0" * 2**17
    r = client.post("/v1/detect", content=chunks())
    assert r.status_code == 413 and "2 MB" in r.json()["error"]


def test_multipart_larger_than_starlette_spools(client, tmp_path, monkeypatch):
    "A 1.5 MB multipart upload is parsed in memory: no temporary file is created."
    import tempfile
    made = []
    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", lambda *a, **k: made.append(1))
    big = _png((sample_image("astronaut") + 1) % 255)
    big = big + b"\0" * (1_500_000 - len(big)) if len(big) < 1_500_000 else big
    r = client.post("/v1/detect?detector=yunet", files={"file": ("a.png", big, "image/png")})
    assert r.status_code == 200 and made == []


def test_token():
    locked = TestClient(make_app(token="t0ken"))
    assert locked.get("/v1/masks").status_code == 401
    assert locked.get("/v1/masks").headers["www-authenticate"] == "Bearer"
    assert locked.get("/v1/masks", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert locked.get("/v1/masks", headers={"Authorization": "Bearer t0ken"}).status_code == 200
    assert locked.get("/healthz").status_code == 200


def test_refuses_open_host_without_token(capsys, monkeypatch):
    monkeypatch.delenv("FACEMASK_TOKEN", raising=False)
    assert main_serve(["--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--token" in err[0]


# ---- a real server on loopback ----

@pytest.fixture(scope="module")
def server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from facemask.serve import main_serve; "
                             "sys.exit(main_serve(sys.argv[1:]))", "--port", str(port), "--token", "t0ken",
                             "--concurrency", "1", "--queue", "0", "--max-mb", "5"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/healthz").status_code == 200: break
        except httpx.TransportError: time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("server did not start")
    yield base, port
    proc.terminate()
    proc.wait(timeout=20)


AUTH = {"Authorization": "Bearer t0ken"}


def test_real_server_happy_path(server):
    base, _ = server
    r = httpx.post(f"{base}/v1/anonymize?detector=yunet", headers=AUTH, files={"file": ("g.jpg", phone_photo())},
                   timeout=60)
    assert r.status_code == 200 and r.headers["x-faces"] == "1"
    assert len(Image.open(io.BytesIO(r.content)).getexif()) == 0
    assert httpx.get(f"{base}/v1/detectors").status_code == 401
    assert httpx.get(f"{base}/docs").status_code == 200


def test_real_server_413_before_reading(server):
    "A request that announces 100 MB is refused without the server waiting for a byte of it."
    _, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /v1/detect HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0ken\r\n"
                  b"Content-Type: image/jpeg\r\nContent-Length: 100000000\r\n\r\n")
        reply = b""
        while not reply.endswith(b"}"):
            chunk = s.recv(4096)
            if not chunk: break
            reply += chunk
        reply = reply.decode()
    assert reply.startswith("HTTP/1.1 413") and '"error"' in reply


def test_real_server_503_past_concurrency(server):
    base, _ = server
    astronaut = _png(sample_image("astronaut"))
    def post(_):
        return httpx.post(f"{base}/v1/detect?detector=haar", headers=AUTH, content=astronaut, timeout=120)
    with ThreadPoolExecutor(4) as pool: replies = list(pool.map(post, range(4)))
    codes = sorted(r.status_code for r in replies)
    assert set(codes) == {200, 503} and codes.count(200) >= 1, codes
    busy = next(r for r in replies if r.status_code == 503)
    assert busy.headers["retry-after"] == "1" and "busy" in busy.json()["error"]
    assert httpx.get(f"{base}/healthz").json()["busy"] == 0


def test_timeout_504_and_the_slot_is_held_until_the_work_ends():
    app_client = TestClient(make_app(timeout_s=0.05, concurrency=1, queue=0))
    r = app_client.post("/v1/detect?detector=haar", content=_png(sample_image("astronaut")))
    assert r.status_code == 504 and "timed out" in r.json()["error"]
    for _ in range(200):  # the thread still runs after the 504; its place is given back when it ends
        if app_client.get("/healthz").json()["busy"] == 0: break
        time.sleep(0.05)
    assert app_client.get("/healthz").json()["busy"] == 0
