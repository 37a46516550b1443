#!/usr/bin/env python
"""Offline preview of the workbook: nbdev's processed notebooks (`_proc/`) -> a static HTML site (`_site/`).

Quarto (`nbdev-docs`) builds the published site; this builds the same pages where Quarto is absent and
there is no network.  It uses nbdev's own processors (`#| hide`, `#| export`, show_doc, front matter), then
applies the Quarto cell options nbdev leaves for Quarto (`echo`, `output`, `include`), renders with
nbconvert's `basic` HTML template, and wraps each page with the sidebar from `nbs/sidebar.yml`.
Every page is self-contained: pictures are data URIs, CSS is one local file, no scripts.

    uv run python tools/build_site.py            # -> _site/index.html
    uv run python tools/build_site.py --out DIR  # somewhere else (the browser test does this)
"""
from __future__ import annotations
import argparse, html, os, re, shutil, sys, time
from fnmatch import fnmatch
from pathlib import Path

import nbformat, yaml
from nbconvert import HTMLExporter
from nbdev.config import get_config, nbpath2html
from pygments.formatters import HtmlFormatter

HERE = Path(__file__).resolve().parent
_re_opt = re.compile(r"^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$")
_re_fm = re.compile(r"^---\s*\n(.*?)\n---\s*$", re.DOTALL)
REMOTE = re.compile(r"<(?:script|link|iframe|img)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I)


def process_nbs(nbs: Path | None = None, file_glob: str = "", n_workers: int = 0) -> Path:
    "Run nbdev's doc processors (what `nbdev-proc-nbs` does, minus its Quarto install) -> the `_proc` folder"
    from nbdev.serve import proc_nbs
    cfg = get_config(nbs)
    os.chdir(cfg.config_path)  # nbdev's workers call a bare get_config(), as in nbdev-docs
    try: return proc_nbs(str(nbs or cfg.nbs_path), n_workers=n_workers, file_glob=file_glob)
    except Exception as e:
        while e.__cause__ and "Error in notebook" not in str(e): e = e.__cause__
        if "Error in notebook" not in str(e): raise
        raise SystemExit(f"{e}\n\nnbdev-docs fails the same way. To render show_doc, nbdev runs every cell that contains an "
                         "import (alone, with only the exported cells before it, from the project root): keep imports in "
                         "import-only cells, or mark the cell `#| eval: false` if it truly cannot run.") from None


def quarto_opts(src: str) -> tuple[dict, str]:
    "Leading `#| key: value` cell options, and the source without them (Quarto hides them too)"
    lines, opts = src.splitlines(), {}
    while lines and (m := _re_opt.match(lines[0])):
        try: opts[m[1]] = yaml.safe_load(m[2]) if m[2] else True
        except yaml.YAMLError: opts[m[1]] = m[2]
        lines.pop(0)
    return opts, "\n".join(lines)


def fenced_divs(md: str) -> str:
    "Pandoc/Quarto fenced divs (`::: {#id .class}` ... `:::`) -> HTML divs the markdown renderer leaves alone"
    def open_div(m):
        attrs = m[1] or m[2] or ""
        ids = re.findall(r"#([\w-]+)", attrs)
        cls = re.findall(r"(?:^|\s)\.?([\w-]+)", re.sub(r"#[\w-]+|[\w-]+=\S+", "", attrs))
        a = (f' id="{ids[0]}"' if ids else "") + (f' class="{" ".join(cls)}"' if cls else "")
        return f"\n<div{a}>\n\n"
    md = re.sub(r"^:{3,}\s*(?:\{([^}]*)\}|([\w-]+))\s*$", open_div, md, flags=re.M)
    return re.sub(r"^:{3,}\s*$", "\n</div>\n", md, flags=re.M)


_re_attr_link = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)\{([^}]*)\}")


def attr_links(md: str) -> str:
    "Pandoc `[text](url){target=...}` links (show_doc's source links) -> HTML links"
    return _re_attr_link.sub(r'<a href="\2" \3>\1</a>', md)


def prepare(nb) -> dict:
    "Apply Quarto's cell options to a processed notebook in place; return its front matter"
    fm, cells = {}, []
    for cell in nb.cells:
        if cell.cell_type == "raw" and (m := _re_fm.match(cell.source.strip())):
            fm.update(yaml.safe_load(m[1]) or {})
            continue
        if cell.cell_type == "markdown":
            cell.source = fenced_divs(attr_links(cell.source))
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        opts, cell.source = quarto_opts(cell.source)
        if opts.get("include") is False: continue
        if opts.get("output") is False: cell.outputs = []
        for o in cell.outputs:
            if "text/markdown" in o.get("data", {}): o.data["text/markdown"] = attr_links("".join(o.data["text/markdown"]))
        if opts.get("echo") is False or not cell.source.strip():
            cell.metadata["transient"] = {"remove_source": True}
        if cell.outputs or cell.source.strip(): cells.append(cell)
    for cell in cells:  # nbdev leaves private keys (e.g. has_sd) that fail nbformat's validation
        for k in set(cell) - {"cell_type", "id", "metadata", "source", "outputs", "execution_count", "attachments"}: del cell[k]
        cell.metadata.pop("execution", None)
    nb.cells = cells
    return fm


def page_name(nb_file: str | Path) -> str: return nbpath2html(Path(nb_file)).name


def read_sidebar(nbs: Path) -> list[tuple[str, list[str]]]:
    "[(section, [notebook file, ...]), ...] from sidebar.yml"
    res = []
    for item in yaml.safe_load((nbs / "sidebar.yml").read_text())["website"]["sidebar"]["contents"]:
        if isinstance(item, dict): res.append((item.get("section", ""), [str(c) for c in item.get("contents", [])]))
        else: res.append(("", [str(item)]))
    return res


def listing_html(listing, pages: dict) -> tuple[str, str]:
    "A Quarto `listing:` (table of chapter titles and descriptions) -> (div id, HTML)"
    lst = listing[0] if isinstance(listing, list) else listing
    if isinstance(lst, str): lst = {"contents": lst}
    contents = lst.get("contents", [])
    contents = [contents] if isinstance(contents, str) else contents
    files = [f for c in contents for f in ([g for g in sorted(pages) if fnmatch(g, c)] if set(c) & set("*?[") else [c])]
    rows = "".join(f'<tr><td><a href="{page_name(f)}">{html.escape(pages[f]["title"])}</a></td>'
                   f'<td>{md_inline(pages[f].get("description", ""))}</td></tr>' for f in files if f in pages)
    return lst.get("id", ""), f'<table class="listing"><tbody>{rows}</tbody></table>'


def fix_links(body: str, doc_url: str) -> str:
    "Hosted-doc and notebook links -> local pages; pandoc-style (lower-case) heading ids"
    body = body.replace(f'href="{doc_url.rstrip("/")}/', 'href="')
    body = re.sub(r'href="(?![a-z]+:|#|/)([^"#]*?)\.ipynb(#[^"]*)?"', lambda m: f'href="{page_name(m[1] + ".ipynb")}{m[2] or ""}"', body)
    body = re.sub(r'href="([^"#:]*?)\.html\.md(#[^"]*)?"', r'href="\1.html\2"', body)
    body = re.sub(r'(<h[1-6] id=")([^"]+)"', lambda m: m[1] + pandoc_id(m[2]) + '"', body)
    return re.sub(r'(class="anchor-link" href="#)([^"]+)"', lambda m: m[1] + pandoc_id(m[2]) + '"', body)


def pandoc_id(s: str) -> str:
    "nbconvert's heading id -> the one pandoc/Quarto gives the same heading (so `page.html#frag` links agree)"
    s = re.sub(r"[^\w.-]", "", html.unescape(s).replace(" ", "-").lower())
    return re.sub(r"^[^a-z]+", "", s) or "section"


def md_inline(s) -> str:
    "Escape a front-matter string for HTML, keeping `code` spans"
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(str(s)))


ACTIVE = ' class="active" aria-current="page"'

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – {site}</title><meta name="description" content="{meta}"><link rel="icon" href="data:,"><link rel="stylesheet" href="site.css"></head>
<body><header class="topbar"><a class="site-title" href="index.html">{site}</a>
<a class="repo" href="{repo}">GitHub</a></header>
<div class="layout"><nav id="sidebar" aria-label="Chapters">{nav}</nav>
<main id="content"><header id="title-block-header"><h1 class="title">{title}</h1>
<p class="description">{desc}</p></header>
{body}
<footer class="page-footer">Offline preview built from the notebooks with nbconvert; the published site is built by Quarto (<code>nbdev-docs</code>).</footer>
</main></div></body></html>
"""

CSS = """
body{margin:0;font:16px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#212529}
a{color:#2780e3} .topbar{background:#2780e3;padding:.6rem 1.2rem;display:flex;justify-content:space-between}
.topbar a{color:#fff;text-decoration:none;font-weight:600}
.layout{display:flex;max-width:1300px;margin:0 auto}
#sidebar{flex:0 0 230px;padding:1rem;border-right:1px solid #dee2e6;position:sticky;top:0;align-self:flex-start;max-height:100vh;overflow:auto}
#sidebar .section{font-weight:700;margin:1rem 0 .3rem} #sidebar ul{list-style:none;margin:0;padding-left:.6rem}
#sidebar li a{text-decoration:none;color:#343a40} #sidebar li a.active{color:#2780e3;font-weight:600}
#content{flex:1;min-width:0;padding:1rem 2rem 3rem} h1.title{margin-bottom:.2rem} p.description{font-style:italic;font-size:1.2rem;opacity:.75}
pre,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em}
.input_area pre{background:#f8f9fa;border:1px solid #e9ecef;border-radius:4px;padding:.6rem;overflow:auto}
.output_area pre{overflow:auto;padding:.3rem .6rem;margin:0 0 0 .8rem;border-left:2px solid lightsalmon}
.cell{margin-bottom:1rem}
.rendered_html table,table.listing{border-collapse:collapse;margin:.6rem 0}
.rendered_html th,.rendered_html td,table.listing td{border:1px solid #dee2e6;padding:.25rem .6rem}
img{max-width:100%;height:auto} .anchor-link{display:none} blockquote{color:#555;border-left:3px solid #dee2e6;margin-left:0;padding-left:1rem}
.callout-note,.callout-tip,.callout-warning,.callout-important,.callout-caution{border-left:4px solid #2780e3;background:#f3f8fe;padding:.2rem 1rem;margin:1rem 0}
.callout-warning,.callout-caution,.callout-important{border-color:#ff7518;background:#fff6ef}
.page-footer{margin-top:3rem;font-size:.8rem;color:#6c757d}
"""


def build(out: Path | None = None, nbs: Path | None = None, proc: Path | None = None, n_workers: int = 0) -> Path:
    "Process the notebooks and render every page listed in sidebar.yml (plus any others) into `out`"
    t0, cfg = time.time(), get_config(nbs)
    nbs = Path(nbs or cfg.nbs_path).resolve()
    out = Path(out or cfg.config_path / "_site").resolve()
    proc = Path(proc) if proc else process_nbs(nbs, n_workers=n_workers)
    sidebar = read_sidebar(nbs)
    listed = [f for _, fs in sidebar for f in fs]
    missing = [f for f in listed if not (proc / f).exists()]
    if missing: print(f"warning: in sidebar.yml but not in {nbs}: {', '.join(missing)}", file=sys.stderr)
    others = sorted(p.name for p in proc.glob("*.ipynb") if p.name not in listed)
    if others: print(f"warning: not in sidebar.yml: {', '.join(others)}", file=sys.stderr)
    if out.exists(): shutil.rmtree(out)
    shutil.copytree(proc, out, ignore=shutil.ignore_patterns("*.ipynb", "_*", ".*", "*.yml", "styles.css"))  # pictures etc. beside the notebooks
    exporter = HTMLExporter(template_name="basic", exclude_input_prompt=True, exclude_output_prompt=True)
    nbs_read, pages = {}, {}
    for f in listed + others:
        if not (proc / f).exists(): continue
        nb = nbformat.read(proc / f, as_version=4)
        fm = prepare(nb)
        fm.setdefault("title", Path(f).stem)
        nbs_read[f], pages[f] = nb, fm
    for f, nb in nbs_read.items():
        fm = pages[f]
        body, _ = exporter.from_notebook_node(nb)
        if fm.get("listing"):
            lid, tbl = listing_html(fm["listing"], pages)
            div = f'<div id="{lid}">'
            body = body.replace(div, div + tbl, 1) if lid and div in body else body + tbl
        nav = "".join((f'<div class="section">{html.escape(sec)}</div>' if sec else "") + "<ul>" + "".join(
            f'<li><a href="{page_name(g)}"{ACTIVE if g == f else ""}>{html.escape(str(pages[g]["title"]))}</a></li>'
            for g in fs if g in pages) + "</ul>" for sec, fs in sidebar if any(g in pages for g in fs))
        page = PAGE.format(title=html.escape(str(fm["title"])), desc=md_inline(fm.get("description", "")),
                           meta=html.escape(str(fm.get("description", ""))),
                           site=html.escape(cfg.title), repo=cfg.git_url, nav=nav, body=fix_links(body, cfg.doc_url))
        if bad := REMOTE.search(page): raise SystemExit(f"{f}: page would load from the network: {bad[0]!r}")
        (out / page_name(f)).write_text(page, encoding="utf-8")
    style = (nbs / "styles.css").read_text() if (nbs / "styles.css").exists() else ""
    (out / "site.css").write_text(CSS + HtmlFormatter(style="default").get_style_defs(".highlight") + "\n" + style)
    print(f"built {len(pages)} pages into {out} in {time.time() - t0:.1f}s")
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="output folder (default: _site beside pyproject.toml)")
    ap.add_argument("--nbs", type=Path, help="notebook folder (default: nbs_path from pyproject.toml)")
    ap.add_argument("--workers", type=int, default=0, help="processes for nbdev's notebook processing (0: in this one)")
    a = ap.parse_args()
    build(a.out, a.nbs, n_workers=a.workers)
