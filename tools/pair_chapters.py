"""Prepare every chapter for Colab and Binder, then write its paired notebook.

For each ``book/*.md`` listed in ``_toc.yml``: make sure its jupytext header
pairs it with an ``.ipynb`` and that its first cell is the setup cell (which
installs the project when it is missing, as in a fresh Colab session, and does
nothing in the built book), then write ``book/<name>.ipynb`` from the ``.md``
(the ``.md`` is always the source). Run by ``make pair``.

The setup cell is filled in here, at pairing time: the repository URL from
``_config.yml``, the release tag ``v<version>`` (``grokking.__version__``) to
clone, and the exact pins from ``requirements.txt`` of what a chapter needs that
Colab lacks (:data:`COLAB_INSTALLS`).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import jupytext
import yaml
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parent.parent
MARK = "# Setup for Colab / Binder"
# What the setup cell installs, at requirements.txt's pins: the package's imports that a
# Colab runtime lacks, and myst-nb (the chapters' glue). The rest of what the package and
# the chapters import (torch, numpy, scipy, matplotlib, pandas, tqdm, IPython) is Colab's
# own and is left alone: Colab's torch is built for its GPU (the torch==2.13.0 on PyPI is
# another multi-GB CUDA build, the CPU wheel needs PyTorch's index), and replacing numpy
# and the compiled packages built on it under a running kernel that has imported them
# breaks it. tests/integration/test_book.py checks that this list covers the imports.
COLAB_HAS = ("torch", "numpy", "scipy", "matplotlib", "pandas", "tqdm", "ipython")
COLAB_INSTALLS = ("transformer-lens", "safetensors", "myst-nb", "plotly")
# GROKKING_REPO and GROKKING_REF, when set, replace the repository and the tag (or branch)
# to clone: tests/site/test_fresh_env.py points them at a local clone. The clone is
# reused when it is complete and at the ref, else removed (a failed attempt) and made again.
# A package is this project's when it has grokking/chapter.py (PyPI has another `grokking`).
SETUP = f'''{MARK}: install the project when it is missing (in the built book it is there).
import importlib.util, os, shutil, subprocess, sys
spec = importlib.util.find_spec("grokking")  # this project's has grokking/chapter.py, PyPI's `grokking` has not
ours = spec and any(os.path.isfile(os.path.join(d, "chapter.py")) for d in spec.submodule_search_locations or [])
if not ours:
    repo = os.environ.get("GROKKING_REPO", "{{url}}")
    ref = os.environ.get("GROKKING_REF", "{{ref}}")  # the release these notebooks belong to
    at = subprocess.run(["git", "-C", "grokking-book", "rev-parse", "HEAD", ref + "^{{commit}}"],
                        capture_output=True, text=True).stdout.split()
    if not (os.path.isdir("grokking-book/.git") and os.path.isfile("grokking-book/pyproject.toml")
            and len(at) == 2 and at[0] == at[1]):  # no clone at ref yet, or one a failed attempt left
        shutil.rmtree("grokking-book", ignore_errors=True)
        subprocess.run(["git", "-c", "advice.detachedHead=false", "clone", "--depth", "1", "--branch", ref,
                        repo, "grokking-book"], check=True)
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--no-deps", "-e", "grokking-book"], check=True)
    # requirements.txt's pins; torch, numpy, scipy, matplotlib, pandas and tqdm stay Colab's own
    subprocess.run([*pip, {{pins}}], check=True)
    sys.path.insert(0, os.path.abspath("grokking-book"))
    sys.modules.pop("grokking", None)  # in case the other `grokking` was imported
    os.environ.setdefault("GROKKING_RUNS", os.path.abspath("grokking-book/runs"))  # see grokking.chapter'''


def version(init: Path = ROOT / "grokking" / "__init__.py") -> str:
    """``grokking.__version__``, read from the source (pyproject.toml takes it from there too)."""
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__version__"]:
            return ast.literal_eval(node.value)
    raise ValueError(f"{init} sets no __version__")


def normalized(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: Path = ROOT / "requirements.txt", names=COLAB_INSTALLS) -> list[str]:
    """``name==version`` for each of ``names``, as ``requirements`` pins it."""
    found = {}
    for raw in requirements.read_text().splitlines():
        line = raw.split("#")[0].strip()
        if "==" in line:
            name, pinned = line.split("==", 1)
            found[normalized(name.strip())] = pinned.strip()
    missing = [n for n in names if normalized(n) not in found]
    if missing:
        raise ValueError(f"{requirements} does not pin {missing}")
    return [f"{n}=={found[normalized(n)]}" for n in names]


def setup_cell(config_path: Path = ROOT / "_config.yml", requirements: Path = ROOT / "requirements.txt",
               init: Path = ROOT / "grokking" / "__init__.py") -> str:
    """The setup cell's source, filled in from the repository's files (tests compare each copy)."""
    config = yaml.safe_load(config_path.read_text())
    return (SETUP.replace("{url}", config["repository"]["url"])
            .replace("{ref}", f"v{version(init)}")
            .replace("{pins}", ", ".join(f'"{pin}"' for pin in pins(requirements))))


def chapters() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [ROOT / f"{f}.md" for f in [toc["root"]] + [c["file"] for c in toc["chapters"]]]


def paired(md: Path, setup: str) -> tuple[str, str]:
    """The chapter's Markdown with the setup cell in place, and its paired notebook, as text."""
    nb = jupytext.read(md)
    nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb,md:myst"
    first = next((c for c in nb.cells if c.cell_type == "code"), None)
    if first is not None and first.source.startswith(MARK):
        first.source = setup
    else:
        cell = new_code_cell(setup, metadata={"tags": ["remove-cell"]})
        index = nb.cells.index(first) if first is not None else len(nb.cells)
        nb.cells.insert(index, cell)
    text_md = jupytext.writes(nb, fmt="md:myst")
    for i, cell in enumerate(nb.cells):  # stable ids: no churn in the paired files
        cell.id = f"cell-{i:03d}"
    return text_md, jupytext.writes(nb, fmt="ipynb")


def main(argv: list[str]) -> int:
    """Write every chapter and its notebook; with ``--check``, only say which would change (exit 1)."""
    check = "--check" in argv
    setup = setup_cell()
    stale = []
    for md in chapters():
        text_md, text_nb = paired(md, setup)
        for path, text in ((md, text_md), (md.with_suffix(".ipynb"), text_nb)):
            if not path.exists() or path.read_text() != text:
                stale.append(path.relative_to(ROOT))
                if not check:
                    path.write_text(text)
        if not check:
            print(f"paired {md.relative_to(ROOT)}")
    if check and stale:
        print("not paired (run make pair): " + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
