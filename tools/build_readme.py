#!/usr/bin/env python
"""README.md from the front-page notebook (`readme_nb`, nbs/index.ipynb) without Quarto.

nbdev's processors (as for the site), Quarto's cell options, then nbconvert's markdown exporter. Pictures go to
`index_files/` beside README.md; links to notebooks/pages become links to the published docs (as `nbdev-readme`
does with its Pandoc filter).

    uv run python tools/build_readme.py           # write README.md and index_files/
    uv run python tools/build_readme.py --check   # exit 1 (and show a diff) when README.md is stale
"""
from __future__ import annotations
import argparse, difflib, re, shutil, sys, tempfile
from pathlib import Path

import nbformat
from fastcore.nbio import nb_frontmatter, read_nb
from nbconvert import MarkdownExporter
from nbdev.config import get_config
from nbdev.readme_filter import doc_link

from build_site import process_nbs, prepare

FILES = "index_files"  # where the README's pictures live, beside README.md (nbdev's convention)


def listing_md(listing, nbs: Path, doc_url: str) -> tuple[str, str]:
    "A Quarto `listing:` on the front page -> (div id, a markdown table of chapters linking to the docs)"
    lst = (listing[0] if isinstance(listing, list) else listing) or {}
    files = lst.get("contents", []) if isinstance(lst, dict) else []
    files = [files] if isinstance(files, str) else files
    files = [f for c in files for f in (sorted(p.name for p in nbs.glob(c)) if set(c) & set("*?[") else [c])]
    rows = []
    for f in files:
        if not (nbs / f).exists(): continue
        fm = nb_frontmatter(read_nb(nbs / f))
        rows.append(f"| [{fm.get('title', Path(f).stem)}]({doc_link(f, doc_url)}) | {fm.get('description', '')} |")
    return lst.get("id", "") if isinstance(lst, dict) else "", "| Chapter | What it covers |\n|---|---|\n" + "\n".join(rows)


def render(out_dir: Path, n_workers: int = 0) -> None:
    "Write README.md and its pictures into `out_dir`"
    cfg = get_config()
    nbs, name = cfg.nbs_path, Path(cfg.readme_nb).name
    if not (nbs / name).exists(): raise SystemExit(f"{nbs / name} not found: README.md is generated from it")
    proc = process_nbs(nbs, file_glob=name, n_workers=n_workers)
    nb = nbformat.read(proc / name, as_version=4)
    fm = prepare(nb)
    nb.metadata.setdefault("language_info", {"name": "python"})  # for the ```python fences
    body, res = MarkdownExporter().from_notebook_node(nb, resources={"unique_key": "index", "output_files_dir": FILES})
    body = re.sub(r"\]\(([^)\s]+)", lambda m: "](" + doc_link(m[1], cfg.doc_url), body)
    body = re.sub(r'href="([^"]+)"', lambda m: f'href="{doc_link(m[1], cfg.doc_url)}"', body)
    if fm.get("listing"):
        lid, table = listing_md(fm["listing"], nbs, cfg.doc_url)
        div = f'<div id="{lid}">'
        body = body.replace(div, div + "\n\n" + table + "\n", 1) if lid and div in body else body + "\n" + table + "\n"
    head = f"# {fm.get('title', cfg.title)}\n\n" + (f"> {fm['description']}\n\n" if fm.get("description") else "")
    text = head + re.sub(r"\n{3,}", "\n\n", re.sub(r"(?m)^[ \t]+$", "", body)).strip() + "\n"
    (out_dir / "README.md").write_text(text, encoding="utf-8")
    for fn, data in res.get("outputs", {}).items():
        (out_dir / fn).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / fn).write_bytes(data)


def snapshot(d: Path) -> dict[str, bytes]:
    "README.md and its pictures in `d`, as {relative path: bytes}"
    files = [d / "README.md", *sorted((d / FILES).rglob("*"))]
    return {str(p.relative_to(d)): p.read_bytes() for p in files if p.is_file()}


def main(check: bool = False) -> int:
    root = get_config().config_path
    if not check:
        shutil.rmtree(root / FILES, ignore_errors=True)
        render(root)
        print(f"wrote {root / 'README.md'}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        render(Path(tmp))
        new, old = snapshot(Path(tmp)), snapshot(root)
    if new == old:
        print("README.md is up to date")
        return 0
    diff = difflib.unified_diff(old.get("README.md", b"").decode().splitlines(), new["README.md"].decode().splitlines(),
                                "README.md (committed)", "README.md (from nbs/index.ipynb)", lineterm="", n=1)
    print("\n".join(list(diff)[:40]))
    changed = sorted(k for k in new.keys() | old.keys() if new.get(k) != old.get(k))
    print(f"README.md is stale ({', '.join(changed)} differ): run `uv run python tools/build_readme.py`", file=sys.stderr)
    return 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check that README.md matches the notebook")
    sys.exit(main(ap.parse_args().check))
