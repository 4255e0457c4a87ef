# Pure State: `make book` builds the HTML, `make test` runs every test.
# Both create (or reuse) .venv from the pinned requirements.txt.

PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Silences JAX's GPU-probe warning on machines with an NVIDIA device node but a CPU jaxlib,
# and keeps stored outputs independent of the machine. Override with JAX_PLATFORMS= for a GPU run.
export JAX_PLATFORMS ?= cpu
export PYTHONHASHSEED := 0

# The oldest JAX the checker supports; `make test` also runs the exercise checks on it.
OLDEST_JAX := 0.10.2

.PHONY: book test test-jax venv sync refresh bench clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found. Install Python 3.12 (e.g. 'pyenv install 3.12', or your OS package python3.12 with venv), or run make PYTHON=/path/to/python3.12 ..."; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' || { echo "error: $(PYTHON) is not Python 3.12 (JAX 0.12 needs 3.12); install it or pass PYTHON=/path/to/python3.12"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 || [ -n "$$PURESTATE_CHROMIUM" ] || \
	  echo "WARNING: no Chromium on this machine: the browser test of the built book will be SKIPPED (bash .ci/run installs one)."
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-jax JAX=$(OLDEST_JAX)

# The exercise checks (stubs, solutions, and a sample of the known answers: one right answer
# per exercise, one wrong answer per probe that must catch one) on another JAX, in a lean
# environment of that JAX, NumPy and the package: make test-jax JAX=0.11.2
test-jax:
	@test -n "$(JAX)" || { echo "usage: make test-jax JAX=<version>"; exit 1; }
	@test -f .venv-jax-$(JAX)/.installed || { \
	  set -e; rm -rf .venv-jax-$(JAX); $(PYTHON) -m venv .venv-jax-$(JAX); \
	  .venv-jax-$(JAX)/bin/python -m pip install --quiet "jax==$(JAX)" "jaxlib==$(JAX)" -r requirements-checks.txt; \
	  touch .venv-jax-$(JAX)/.installed; }
	.venv-jax-$(JAX)/bin/python -m pip install --quiet .
	.venv-jax-$(JAX)/bin/python -c 'import jax, sys; sys.exit(0 if jax.__version__ == "$(JAX)" else "installing purestate changed JAX $(JAX) to " + jax.__version__)'
	cd .venv-jax-$(JAX) && ./bin/python -c 'import purestate, sys; sys.exit(0 if "site-packages" in purestate.__file__ else "purestate was not installed")'
	PURESTATE_KNOWN_ANSWERS=sample .venv-jax-$(JAX)/bin/python -m pytest \
	  -o addopts="-p no:cacheprovider -ra -n 2 --dist loadfile" tests/test_exercise_notebooks.py tests/wrong_answers

sync: $(STAMP)
	$(BIN)/python scripts/sync_notebooks.py

# make refresh                              every notebook
# make refresh NB="chapters/03_stale_traces.ipynb solutions/03_stale_traces.ipynb"
refresh: $(STAMP)
	$(BIN)/python scripts/refresh_outputs.py $(NB)

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

clean:
	rm -rf _build .pytest_cache .venv-jax-*
