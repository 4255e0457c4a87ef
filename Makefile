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

.PHONY: book test venv sync refresh bench clean

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
	$(BIN)/python -m pytest

sync: $(STAMP)
	$(BIN)/python scripts/sync_notebooks.py

# make refresh                              every notebook
# make refresh NB="chapters/03_stale_traces.ipynb solutions/03_stale_traces.ipynb"
refresh: $(STAMP)
	$(BIN)/python scripts/refresh_outputs.py $(NB)

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

clean:
	rm -rf _build .pytest_cache
