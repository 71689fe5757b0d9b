"""Prepare every chapter for Colab and Binder, then write its paired notebook.

For each ``book/*.md`` listed in ``_toc.yml``: make sure its jupytext header
pairs it with an ``.ipynb`` and that its first cell is the setup cell (which
installs the project when it is missing, as in a fresh Colab session, and does
nothing in the built book), then write ``book/<name>.ipynb`` from the ``.md``
(the ``.md`` is always the source). Run by ``make pair``.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import yaml
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parent.parent
MARK = "# Setup for Colab / Binder"
# GROKKING_REPO, when set, replaces the repository to clone (tests/test_fresh_env.py
# points it at a local clone); otherwise the cell clones the published repository.
SETUP = f'''{MARK}: install the project when it is missing (in the built book it is there).
import importlib.util, os, subprocess, sys
if importlib.util.find_spec("grokking") is None:
    repo = os.environ.get("GROKKING_REPO", "{{url}}")
    subprocess.run(["git", "clone", "--depth", "1", repo, "grokking-book"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", "grokking-book"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "transformer-lens>=3,<4", "safetensors", "myst-nb"], check=True)
    sys.path.insert(0, "grokking-book")'''


def chapters() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [ROOT / f"{f}.md" for f in [toc["root"]] + [c["file"] for c in toc["chapters"]]]


def main() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    setup = SETUP.replace("{url}", config["repository"]["url"])
    for md in chapters():
        nb = jupytext.read(md)
        nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb,md:myst"
        first = next((c for c in nb.cells if c.cell_type == "code"), None)
        if first is not None and first.source.startswith(MARK):
            first.source = setup
        else:
            cell = new_code_cell(setup, metadata={"tags": ["remove-cell"]})
            index = nb.cells.index(first) if first is not None else len(nb.cells)
            nb.cells.insert(index, cell)
        jupytext.write(nb, md, fmt="md:myst")
        for i, cell in enumerate(nb.cells):  # stable ids: no churn in the paired files
            cell.id = f"cell-{i:03d}"
        jupytext.write(nb, md.with_suffix(".ipynb"), fmt="ipynb")
        print(f"paired {md.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
