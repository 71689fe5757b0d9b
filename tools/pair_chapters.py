"""Prepare every chapter for Colab and Binder, then write its paired notebook.

For each ``book/*.md`` listed in ``_toc.yml``: make sure its jupytext header
pairs it with an ``.ipynb`` and that its first cell is the setup cell (which
installs the project when it is missing, as in a fresh Colab session, and does
nothing in the built book), then write ``book/<name>.ipynb`` from the ``.md``
(the ``.md`` is always the source). Run by ``make pair``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import yaml
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parent.parent
MARK = "# Setup for Colab / Binder"
# GROKKING_REPO, when set, replaces the repository to clone (tests/site/test_fresh_env.py
# points it at a local clone); otherwise the cell clones the published repository.
SETUP = f'''{MARK}: install the project when it is missing (in the built book it is there).
import importlib.util, os, subprocess, sys
if importlib.util.find_spec("grokking") is None:
    repo = os.environ.get("GROKKING_REPO", "{{url}}")
    subprocess.run(["git", "clone", "--depth", "1", repo, "grokking-book"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", "grokking-book"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "transformer-lens>=3,<4", "safetensors", "myst-nb"], check=True)
    sys.path.insert(0, "grokking-book")
    os.environ.setdefault("GROKKING_RUNS", os.path.abspath("grokking-book/runs"))  # see grokking.chapter'''


def setup_cell(config_path: Path = ROOT / "_config.yml") -> str:
    """The setup cell's source, with the repository URL from ``_config.yml`` (tests compare each copy)."""
    config = yaml.safe_load(config_path.read_text())
    return SETUP.replace("{url}", config["repository"]["url"])


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
