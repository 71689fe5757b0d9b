# Two commands do all set-up on a fresh machine:
#   make book   # create .venv, install pinned requirements, build the book (HTML in _build/html)
#   make test   # create .venv, install pinned requirements, run the tests (incl. every chapter)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test test-slow bench figures pair clean-cache

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest -p no:cacheprovider --nbval-lax -o addopts="" book/

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

bench: $(STAMP)
	$(BIN)/python benchmarks/train_speed.py

figures: $(STAMP)
	$(BIN)/python -m grokking figures --out _build/figures

pair: $(STAMP)
	$(BIN)/python tools/pair_chapters.py

clean-cache:
	rm -rf _build/.jupyter_cache _build/grokking-package.sha256
