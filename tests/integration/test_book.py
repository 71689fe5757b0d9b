"""Book integrity: chapters paired for Colab, build settings, every figure registered, no p^3 float64."""

from pathlib import Path

import jupytext
import pytest
import torch
import yaml

from grokking.context import RunContext
from grokking.figures import WRITEUP_FIGURES, all_figures

ROOT = Path(__file__).resolve().parent.parent


def chapters() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for c in toc["chapters"]]
    return [ROOT / f"{f}.md" for f in files]


@pytest.mark.parametrize("md", chapters(), ids=lambda p: p.stem)
def test_chapter_paired_notebook_in_sync(md):
    assert md.exists(), md
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} missing: run `make pair`"
    code = lambda nb: [c.source for c in nb.cells if c.cell_type == "code"]  # noqa: E731
    assert code(jupytext.read(md)) == code(jupytext.read(ipynb)), f"{ipynb.name} is stale: run `make pair`"


def test_build_settings_fail_on_errors():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "cache"
    assert config["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert config["execute"].get("allow_errors") is False
    assert "package_cache" in config["sphinx"]["local_extensions"]


def test_every_writeup_figure_is_registered():
    assert set(WRITEUP_FIGURES) <= set(all_figures())


def test_no_p_cubed_float64_tensors(canonical, float64_watch):
    ctx = RunContext(canonical)
    p = ctx.p
    ctx.logits  # noqa: B018  (the model's own forward pass is not an analysis)
    with float64_watch as watch:
        ctx.cos_fit
        ctx.neuron_frequency_shares
        for figure in all_figures().values():
            figure(ctx)
    assert watch.largest < p**3, f"an analysis made a float64 tensor of {watch.largest} >= p^3 = {p**3} elements"
