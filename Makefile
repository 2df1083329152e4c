# The words in the README: `make lab` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test unit notebooks lint format strip benchmark clean

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11, or run make PYTHON=python3 ..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/nbstripout --install --keep-count >/dev/null 2>&1 || true  # strip outputs on commit; keep_output cells keep theirs
	touch $(STAMP)

## lab: create .venv, install everything, open JupyterLab on notebooks/
lab: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/jupyter lab notebooks/

## test: unit tests, then every notebook top to bottom under nbval
test: lint unit notebooks

unit: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q tests

notebooks: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q --nbval-lax --nbval-current-env --nbval-cell-timeout=600 notebooks

lint: $(STAMP)
	$(BIN)/ruff check course_utils tests scripts benchmarks notebooks

format: $(STAMP)
	$(BIN)/ruff format course_utils tests scripts benchmarks

## strip: remove outputs from notebooks (cells with keep_output metadata keep theirs)
strip: $(STAMP)
	$(BIN)/nbstripout --keep-count notebooks/*.ipynb

benchmark: $(STAMP)
	for f in benchmarks/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache runs
