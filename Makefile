# facemask: every command sets itself up. `make app` runs the app, `make test` runs every test.
SHELL := /bin/bash
# uv if it is on PATH, otherwise the copy `make uv` installs with pip.
UV = $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PORT ?= 8866

.PHONY: app test setup uv chromium nbtest pytest docs readme check-readme bench clean

uv:  ## install uv with pip when it is missing
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

setup: uv  ## create .venv from uv.lock
	$(UV) sync --frozen

chromium:  ## Debian's chromium for the browser tests (they skip, saying why, when it cannot be installed)
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null) || echo "chromium not installed: browser tests will skip"; }

app: setup  ## start the app on http://127.0.0.1:$(PORT)
	$(UV) run --frozen python -m facemask.app --port $(PORT)

test: setup chromium nbtest pytest  ## every test: the notebooks, then pytest

nbtest:
	$(UV) run --frozen nbdev-test --n-workers 2 --timing

pytest:
	$(UV) run --frozen pytest -q

docs: setup  ## offline HTML preview of the workbook in _site/
	$(UV) run --frozen python tools/build_site.py

readme: setup  ## regenerate README.md from nbs/index.ipynb
	$(UV) run --frozen python tools/build_readme.py

check-readme:
	$(UV) run --frozen python tools/build_readme.py --check

bench: setup
	$(UV) run --frozen python bench/bench.py
	$(UV) run --frozen python bench/vs_deface.py --cache $(HOME)/.cache/facemask/eval
	$(UV) run --frozen --group bench python bench/ceiling.py --cache $(HOME)/.cache/facemask/eval
	$(UV) run --frozen python bench/identity.py
	$(UV) run --frozen python bench/video.py
	$(UV) run --frozen python bench/serve_load.py
	$(UV) run --frozen python bench/ray_vs_local.py

clean:
	rm -rf _site _proc _docs tests/artifacts
