"""The offline site (`make docs`), built once from nbs/ into a temp folder, read in headless Chromium.

Every page in sidebar.yml opens with its title and the sidebar; its pictures load and can be read (a figure spans
most of the page's content width, or is a photo shown at its own size, and is never blown up beyond its pixels);
nothing is fetched from the network; every internal link (and #fragment) points at something that exists; no
machine path (a temp folder, the virtual environment) shows; every chapter has a Questionnaire. Screenshots of the
front page and one chapter are kept in tests/artifacts/.
"""
import functools, http.server, os, re, shutil, subprocess, sys, threading, urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
sys.path.insert(0, str(ROOT / "tools"))
from build_site import page_name, read_sidebar  # noqa: E402

PAGES = [f for _, fs in read_sidebar(NBS) for f in fs if (NBS / f).exists()]
FIGURE_SHARE = 0.6  # a figure spans at least this share of the content width...
PHOTO_MIN = 300  # ...or is a photo (an image value) shown at its own size, at least this wide
MACHINE_PATH = re.compile(r"(?:/tmp/|/home/|/root/|/work/|/private/var/|\.venv/|site-packages|[A-Z]:\\Users)")


def chromium() -> str | None:
    "A Chromium to drive: $FACEMASK_CHROMIUM, /usr/bin/chromium, one on PATH, else None (Playwright's own)"
    for c in (os.environ.get("FACEMASK_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
              shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if c and Path(c).exists(): return c


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    "Build the offline site once, as `make docs` does, into a temp folder"
    out = tmp_path_factory.mktemp("site") / "_site"
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def base_url(site):
    "Serve the site on 127.0.0.1 on a free port"
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    handler = functools.partial(Quiet, directory=str(site))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}/"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    exe = chromium()
    with sync_api.sync_playwright() as p:
        try: b = p.chromium.launch(executable_path=exe, args=ARGS, headless=True)
        except Exception as e:
            pytest.skip(f"no Chromium to drive ({exe or 'Playwright has none installed'}: {str(e).splitlines()[0]}); "
                        "install it (apt-get install chromium, or `uv run playwright install chromium`) "
                        "or point FACEMASK_CHROMIUM at one")
        yield b
        b.close()


@functools.cache
def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r: return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e: return e.code, ""


def test_site_has_every_page(site):
    assert PAGES, "no notebooks from sidebar.yml in nbs/"
    assert not (missing := [f for f in PAGES if not (site / page_name(f)).exists()]), f"pages not built: {missing}"
    for p in site.glob("*.html"):
        html = p.read_text()
        assert not re.search(r"<(?:script|link|img|iframe)\b[^>]*(?:src|href)=[\"']?(?:https?:)?//", html, re.I), \
            f"{p.name} loads something from the network"


@pytest.mark.parametrize("nb", PAGES)
def test_page_in_browser(nb, browser, base_url):
    url = base_url + page_name(nb)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    remote, errors = [], []
    page.on("request", lambda r: None if r.url.startswith((base_url, "data:")) else remote.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        resp = page.goto(url, wait_until="load")
        assert resp and resp.ok, f"{url}: HTTP {resp and resp.status}"
        title = page.locator("h1.title")
        assert title.is_visible() and title.inner_text().strip(), f"{nb}: no title"
        assert title.inner_text().strip() in page.title()
        sidebar = page.locator("#sidebar")
        assert sidebar.is_visible(), f"{nb}: sidebar not visible"
        assert sidebar.locator("a").count() == len(PAGES), f"{nb}: sidebar does not list every page"
        assert sidebar.locator("a.active").get_attribute("href") == page_name(nb)
        for section, files in read_sidebar(NBS):
            if section and any(f in PAGES for f in files): assert section in sidebar.inner_text()
        broken_imgs = page.eval_on_selector_all(
            "img", "els => els.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))")
        assert not broken_imgs, f"{nb}: images that did not load: {broken_imgs}"
        assert not remote, f"{nb}: fetched from the network: {remote[:5]}"
        assert not errors, f"{nb}: script errors: {errors[:3]}"
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
        no_anchor = []
        for href in sorted(set(h for h in hrefs if h.startswith(base_url))):
            target, frag = urldefrag(href)
            status, body = fetch(target)
            assert status == 200, f"{nb}: broken link {href} (HTTP {status})"
            if frag and urlsplit(target).path.endswith(".html") and not re.search(rf'\bid="{re.escape(frag)}"', body):
                no_anchor.append(href.removeprefix(base_url))
        # the page exists; nbdev links `Class.method` or a constant to an anchor only its show_doc makes
        assert not no_anchor, f"{nb}: links to anchors that do not exist (add show_doc for them): {no_anchor}"
        figures = page.eval_on_selector_all("main img", """els => els.map(i => ({
            src: i.src.slice(0, 60), width: i.getBoundingClientRect().width, natural: i.naturalWidth,
            value: !!i.closest('.output_execute_result'),
            content: (i.closest('main') || document.body).clientWidth}))""")
        unreadable = [f for f in figures if f["width"] < FIGURE_SHARE * f["content"]
                      and not (f["value"] and f["natural"] >= PHOTO_MIN and f["width"] >= f["natural"] - 1)]
        assert not unreadable, (f"{nb}: figures narrower than {FIGURE_SHARE:.0%} of the page (draw them at "
                                f"page width, figsize ~ (11, h)): {unreadable}")
        blown_up = [f for f in figures if f["natural"] < 0.95 * f["width"]]
        assert not blown_up, f"{nb}: figures stretched beyond their pixels (raise their dpi): {blown_up}"
        text = page.locator("main").inner_text()
        assert not (m := MACHINE_PATH.search(text)), \
            f"{nb}: a machine path or environment shows on the page: {text[max(m.start() - 60, 0):m.end() + 60]!r}"
        if nb != "index.ipynb":
            assert page.locator("h2", has_text=re.compile(r"^\s*Questionnaire", re.I)).count(), f"{nb}: no Questionnaire"
        if nb == "index.ipynb" or nb == next((f for f in PAGES if f != "index.ipynb"), None):
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"site-{Path(page_name(nb)).stem}.png"), full_page=True)
    finally:
        page.close()
