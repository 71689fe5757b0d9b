"""Book integrity: chapters paired for Colab, build settings that fail on errors."""

import importlib.util
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


def _pair_tool():
    """tools/pair_chapters.py as a module (the one home of the setup-cell template)."""
    spec = importlib.util.spec_from_file_location("pair_chapters", ROOT / "tools" / "pair_chapters.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("md", chapters(), ids=lambda p: p.stem)
def test_every_setup_cell_is_the_template(md):
    tool = _pair_tool()
    first = next(c for c in jupytext.read(md).cells if c.cell_type == "code")
    assert first.source == tool.setup_cell(), f"{md.name}: the setup cell differs from the template (make pair)"
    assert first.metadata.get("tags") == ["remove-cell"]


def test_pair_check_passes_and_catches_a_stale_copy(tmp_path, monkeypatch):
    tool = _pair_tool()
    assert tool.main(["--check"]) == 0  # the committed chapters are paired
    copy = tmp_path / "chapter.md"
    copy.write_text(chapters()[1].read_text())
    monkeypatch.setattr(tool, "chapters", lambda: [copy])
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    assert tool.main([]) == 0  # pairs the copy: writes chapter.ipynb
    assert tool.main(["--check"]) == 0
    # a setup cell edited by hand is reported, and so is a notebook that drifted
    copy.write_text(copy.read_text().replace("importlib.util.find_spec", "importlib.util.find_spec ", 1))
    assert tool.main(["--check"]) == 1
    tool.main([])
    notebook = copy.with_suffix(".ipynb")
    notebook.write_text(notebook.read_text().replace("find_spec", "find_spec_", 1))
    assert tool.main(["--check"]) == 1
