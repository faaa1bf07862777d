# copil: make demo | make test | make bench | make clean
# Works on a fresh machine with Python 3.11 (or python3) and make.
PYTHON_BOOT := $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: demo test test-all bench robustness clean install

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

# Default test run: everything but -m slow, two workers.
test: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP)
	$(PY) -m pytest -q -n 2 $(PYTEST_ARGS)

# Faults, kill points and hostile input at full size (about 15 minutes on 2 cores); the last
# line is "faults injected: N, kill points: N, bad inputs: N, data lost: N".
robustness: $(STAMP)
	$(PY) -m tests.robustness --faults 1000 --kills 100

bench: $(STAMP)
	@if ls bench/*.py >/dev/null 2>&1; then \
		for f in bench/*.py; do echo "== $$f"; $(PY) $$f || exit $$?; done; \
	else \
		$(PY) -m pytest -q -m slow $(PYTEST_ARGS); \
	fi

clean:
	rm -rf demo-out out build .pytest_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
