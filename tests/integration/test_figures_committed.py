"""Every figure of the book drawn from the committed run, through grokking.figures."""

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from grokking.analysis.context import RunContext
from grokking.figures import RUN_FIGURES


@pytest.fixture(scope="module")
def drawn(canonical, new_float64_watch):
    """Every RUN_FIGURES entry drawn once from a fresh context of the committed run, under a
    Float64Watch: ``(largest float64 tensor made, p, {name: Figure or the exception raised})``."""
    ctx = RunContext(canonical)
    _ = ctx.logits  # computed before the watch: the activations are not a figure's own
    results = {}
    with new_float64_watch() as watch:
        _ = ctx.cos_fit, ctx.neuron_frequency_shares  # the analyses the figures share
        for name, figure in RUN_FIGURES.items():
            try:
                results[name] = figure(ctx)
            except Exception as exc:
                results[name] = exc
    yield watch.largest, ctx.p, results
    plt.close("all")


@pytest.mark.parametrize("name", list(RUN_FIGURES))
def test_every_run_figure_draws_from_the_committed_run(drawn, name):
    result = drawn[2][name]
    if isinstance(result, Exception):
        raise result
    assert isinstance(result, Figure), name
    assert result.axes, name


def test_no_p_cubed_float64_tensors(drawn):
    largest, p, _ = drawn
    assert largest < p**3, f"an analysis made a float64 tensor of {largest} >= p^3 = {p**3} elements"
