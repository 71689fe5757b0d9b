"""Book integrity: chapters paired for Colab, build settings that fail on errors."""

from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]  # tests/integration/ -> the repository


def chapters() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for c in toc["chapters"]]
    return [ROOT / f"{f}.md" for f in files]


@pytest.mark.parametrize("md", chapters(), ids=lambda p: p.stem)
def test_chapter_paired_notebook_in_sync(md):
    assert md.exists(), md
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} missing: run `make pair`"
    def code(nb):
        return [c.source for c in nb.cells if c.cell_type == "code"]
    assert code(jupytext.read(md)) == code(jupytext.read(ipynb)), f"{ipynb.name} is stale: run `make pair`"


def test_build_settings_fail_on_errors():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "cache"
    assert config["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert config["execute"].get("allow_errors") is False
    assert "package_cache" in config["sphinx"]["local_extensions"]
