"""The notebooks read as a course: every page has a title and summary, is in the sidebar, and every chapter
ends with "What you can do now" and a few exercises.  Fast: reads the notebooks, runs nothing."""
import re
from pathlib import Path

import pytest
import yaml
from fastcore.nbio import nb_frontmatter, read_nb

NBS = Path(__file__).resolve().parents[1] / "nbs"
NOTEBOOKS = sorted(p.name for p in NBS.glob("*.ipynb"))
CHAPTERS = [n for n in NOTEBOOKS if n != "index.ipynb"]
_re_done = re.compile(r"^#{1,6}\s*what you can do now\b", re.I | re.M)
_re_exercises = re.compile(r"^(?:#{1,6}\s*|\*\*)\s*(?:exercises?|questions? worth trying|try it)\b", re.I | re.M)
_re_item = re.compile(r"^\s{0,3}(?:[-*+]|\d+[.)])\s+\S", re.M)


def sidebar_files() -> list[str]:
    "Notebooks named in nbs/sidebar.yml, in order"
    def walk(items):
        for it in items:
            if isinstance(it, dict): yield from walk(it.get("contents", []))
            else: yield str(it)
    return list(walk(yaml.safe_load((NBS / "sidebar.yml").read_text())["website"]["sidebar"]["contents"]))


def test_sidebar_matches_notebooks():
    listed = sidebar_files()
    assert len(listed) == len(set(listed)), f"listed twice in sidebar.yml: {listed}"
    assert not (missing := [f for f in listed if not (NBS / f).exists()]), f"in sidebar.yml but not in nbs/: {missing}"
    assert not (extra := [f for f in NOTEBOOKS if f not in listed]), f"notebooks missing from sidebar.yml: {extra}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_has_title_and_summary(name):
    fm = nb_frontmatter(read_nb(NBS / name))
    assert fm.get("title"), f"{name}: no title (a markdown cell `# Title` near the top)"
    assert fm.get("description"), f"{name}: no one-line summary (`> ...` under the title)"


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_ends_with_what_you_can_do_now_and_exercises(name):
    cells = read_nb(NBS / name).cells
    starts = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and _re_done.search(c.source)]
    assert starts, f'{name}: no "What you can do now" heading'
    i = starts[-1]
    tail = cells[i:]
    md = "\n".join(c.source for c in tail if c.cell_type == "markdown")
    md = md[_re_done.search(md).end():]
    m = _re_exercises.search(md)
    assert m, f'{name}: no "Exercises" heading after "What you can do now"'
    assert len(_re_item.findall(md[m.end():])) >= 2, f"{name}: fewer than two exercises (list items) after the heading"
    exported = [c for c in tail if c.cell_type == "code" and re.search(r"^#\|\s*export", c.source, re.M)]
    assert not exported, f'{name}: exported code after "What you can do now" (the chapter should end there)'


_re_questionnaire = re.compile(r"^#{1,6}\s*questionnaire\b", re.I | re.M)
_re_research = re.compile(r"^#{1,6}\s*further research\b", re.I | re.M)


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_has_questionnaire_and_further_research(name):
    md = "\n".join(c.source for c in read_nb(NBS / name).cells if c.cell_type == "markdown")
    m = _re_questionnaire.search(md)
    assert m, f'{name}: no "Questionnaire" heading'
    after = md[m.end():]
    nxt = re.search(r"^#{1,6}\s", after, re.M)
    questions = re.findall(r"^\s{0,3}\d+[.)]\s+\S", after[:nxt.start()] if nxt else after, re.M)
    assert len(questions) >= 8, f"{name}: {len(questions)} questions in the questionnaire (at least 8)"
    assert _re_research.search(md), f'{name}: no "Further research" heading'
