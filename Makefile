# The words in the README: `make lab` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab present test test-fast unit notebooks lint format strip benchmark clean

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11, or run make PYTHON=python3 ..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/nbstripout --install --keep-count >/dev/null 2>&1 || true  # strip outputs on commit; keep_output cells keep theirs
	-git config filter.nbstripout.clean "$(CURDIR)/$(BIN)/python -m nbstripout --keep-count" 2>/dev/null  # --install drops --keep-count
	touch $(STAMP)

# JupyterLab's settings defaults for the course (no news pop-up over the outputs; launch.py installs them too).
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_OVERRIDES): classroom/lab/overrides.json $(STAMP)
	mkdir -p $(dir $@) && cp $< $@

## lab: create .venv, install everything, open JupyterLab on notebooks/
# classroom/lab/launch.py: the notebook view even if a slideshow was left on, and the slideshow's theme.
lab: $(STAMP) $(LAB_OVERRIDES)
	$(BIN)/python classroom/lab/launch.py

## present: JupyterLab for the instructor: as `make lab`, with COURSE_FAST=1 (shortened demos, Run All before class)
present: $(STAMP) $(LAB_OVERRIDES)
	$(BIN)/python classroom/lab/launch.py --present


## test: lint, every unit test (the slow ones too), then every notebook top to bottom under nbval
test: lint unit notebooks

## test-fast: the unit tests without the slow ones (under 2 minutes on 2 cores): the loop to run every few minutes
test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m "not slow" tests

unit: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q tests

# The notebooks run shortened as in CI (COURSE_FAST=1: fewer training steps and prompts in the live demos
# and in-lesson measurements, the same code run); `make test COURSE_FAST=0` runs them full length.
# COURSE_SOLUTIONS=1: the exercise solutions run here, so nbval checks them (a student's Run All skips them).
notebooks: $(STAMP)
	HF_HUB_OFFLINE=1 COURSE_SOLUTIONS=1 COURSE_FAST=$(if $(COURSE_FAST),$(COURSE_FAST),1) $(BIN)/python -m pytest -q --nbval-lax --nbval-current-env --nbval-cell-timeout=600 notebooks

lint: $(STAMP)
	$(BIN)/ruff check course_utils tests scripts benchmarks notebooks classroom

format: $(STAMP)
	$(BIN)/ruff format course_utils tests scripts benchmarks

## strip: remove outputs from notebooks (cells with keep_output metadata keep theirs)
strip: $(STAMP)
	$(BIN)/nbstripout --keep-count notebooks/*.ipynb

benchmark: $(STAMP)
	for f in benchmarks/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache runs

# ---------------------------------------------------------------------------------------------------
# The live classroom: slides, the playground page, the course site, and the browser tests (README).
PORT ?= 8866
# `make playground HOST=0.0.0.0` opens the playground to the network (README). Set only on make's
# command line: some shells export HOST as the machine's name, and that must not expose the page.
HOST := 127.0.0.1
# The static pages run every lesson once (build/executed/), shortened as in CI unless COURSE_FAST=0.
SITE_ENV := HF_HUB_OFFLINE=1 COURSE_FAST=$(if $(COURSE_FAST),$(COURSE_FAST),1) OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: slides site playground class test-browser chromium npm

## slides: static reveal.js decks of every lesson, with outputs, under _site/slides/ (offline)
slides: $(STAMP) npm
	$(SITE_ENV) $(BIN)/python classroom/build.py slides

## instructor: the decks with each exercise's solution in its speaker notes, in build/instructor/ (never published); ONLY="03 06" for some
instructor: $(STAMP) npm
	$(SITE_ENV) $(BIN)/python classroom/build.py instructor $(if $(ONLY),--only $(ONLY))

## site: the whole course as a static website under _site/ (open _site/index.html), slides included
site: $(STAMP) npm
	$(SITE_ENV) $(BIN)/python classroom/build.py site

## playground: a code-free page on http://127.0.0.1:$(PORT)/ (text to image, noising, the VAE); HOST=0.0.0.0 for a class
playground: $(STAMP)
	PORT=$(PORT) $(BIN)/python classroom/playground.py --port=$(PORT) --host=$(HOST)

## class: the in-browser playground for a whole class: serves _site/playground.html (built if missing); each browser draws its own pictures
class: $(STAMP)
	$(SITE_ENV) $(BIN)/python classroom/playground.py --in-browser --port=$(PORT) --host=$(HOST)

## test-browser: Chromium (Playwright) through JupyterLab, the live slides, the playground, the site
test-browser: $(STAMP) $(LAB_OVERRIDES) chromium site
	COURSE_BROWSER_TESTS=1 $(SITE_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider tests/browser

chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "Chromium is missing: sudo apt-get install chromium (Debian/Ubuntu)"; exit 1; fi; }

# reveal.js, MathJax and the widget renderer come from the npm registry when the pages are built.
npm:
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq npm; \
	  else echo "npm is missing: sudo apt-get install npm (Debian/Ubuntu), or install Node.js"; exit 1; fi; }
