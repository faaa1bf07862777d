# copil: make demo | make test | make render | make bench | make clean
# Works on a fresh machine with Python 3.11 (or python3) and make.
PYTHON_BOOT := $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: operator-bench year-pages demo test test-all lint bench bench-quick robustness render render-tools clean install conformance year

install: $(STAMP)

$(PY):
	$(PYTHON_BOOT) -m venv $(VENV)

# Reinstall only when pyproject.toml changes (stamp keyed on its checksum).
$(STAMP): pyproject.toml | $(PY)
	-$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(VENV)/bin/copil demo --out demo-out

# Default test run: everything but -m slow (the PDF rendering test runs when LibreOffice is
# installed, see make render-tools), two workers.
test: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not slow or pdf" $(PYTEST_ARGS)

# ruff (lint, and the format of every file: `ruff format` applies it) and mypy (strict on the model,
# the stage boundaries checked; see [tool.mypy] in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test-all: $(STAMP)
	$(PY) -m pytest -q -n 2 $(PYTEST_ARGS)

# Faults, kill points and hostile input at full size (about 15 minutes on 2 cores); the last
# line is "faults injected: N, kill points: N, bad inputs: N, data lost: N".
robustness: $(STAMP)
	$(PY) -m tests.support.robustness --faults 2000 --kills 200

# Nightly runs at 100, 1,000 and 10,000 projects beside the minimum and the naive script,
# report generation, emulator throughput: bench/results.json and bench/RESULTS.md.
bench: $(STAMP)
	$(PY) bench/nightly.py

# The 100- and 1,000-project sizes only (a few minutes).
bench-quick: $(STAMP)
	$(PY) bench/nightly.py --quick

# A shared operator's night: 200 emulated sites of 40 projects on 2 worker processes and a real
# PostgreSQL (pgserver); figures in bench/results/operator.json and bench/RESULTS.md.
operator-bench: $(STAMP)
	$(PY) bench/operator.py --sites 200 --projects 40 --workers 2

# PnPjs 4 on Node against `copil emulator` (skips, saying so, without Node.js/npm).
conformance: $(STAMP)
	$(PY) conformance/run.py

# LibreOffice (Writer, no GUI), poppler and the Calibri-metric font, from the system's packages.
RENDER_PACKAGES := libreoffice-writer-nogui poppler-utils fonts-crosextra-carlito fonts-dejavu-core
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

render-tools:
	@if command -v soffice >/dev/null && command -v pdftoppm >/dev/null && command -v pdftotext >/dev/null; then :; \
	elif command -v apt-get >/dev/null; then \
		echo "LibreOffice ou poppler absent : installation avec apt-get ($(RENDER_PACKAGES))"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(RENDER_PACKAGES); \
	else echo "installez LibreOffice Writer et poppler-utils ($(RENDER_PACKAGES)) puis relancez make render"; exit 2; fi

# The demo's reports as a reader sees them: demo-out/rendu/pdf, .../png, one contact sheet each.
render: $(STAMP) render-tools
	$(VENV)/bin/copil demo --out demo-out
	$(PY) -m jobs.render demo-out

# Nights of the sample on one site and one state, nothing edited between: 6 December 2026 (the
# draft of the avenue de la Gare's COPIL), 8 December (that dossier frozen, with its PDF), 7 January
# 2027 (the closing of 2026; the January PPI COPIL's draft). year-out/ holds the library as it is
# then (living files, meetings' dossiers), rendered to year-out/rendu.
# A year of nights: 365 nights of the sample with scripted staff edits and a calendar of
# committees (tests/support/year.py); the figures go to bench/results/year.json and its last line
# is « nights: N, editions: N, files: N, republished without change: 0, evolutions missed: 0 ».
# `make test` runs a reduced one (tests/end_to_end/test_year_of_nights.py).
year: $(STAMP)
	$(PY) -m tests.support.year --nights 365 --json bench/results/year.json

# The sample on 6 and 8 December then 7 January, the library rendered (the README's pages).
year-pages: $(STAMP) render-tools
	$(VENV)/bin/copil demo --out year-out --le 06/12/2026 --le 08/12/2026 --le 07/01/2027
	$(PY) -m jobs.render year-out

clean:
	rm -rf demo-out year-out out build .pytest_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
