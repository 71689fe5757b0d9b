"""The figure registry (grokking.figures): names, and figures drawn from planted results."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from figure_reading import assert_drawn, bar_heights, colorbars, image, panels

from grokking.analysis import attention
from grokking.analysis.context import RunContext
from grokking.analysis.fourier import fourier_basis
from grokking.analysis.neurons import example_neurons
from grokking.analysis.trig import by_angle
from grokking.figures import RUN_FIGURES, WRITEUP_FIGURES, sweep_figures
from grokking.plotting.attention import plot_head

# The figures of the attention and neurons chapters (each drawn from the planted context below).
ATTENTION_FIGURES = ("attention_for_each_head_from_a_to_equals", "attention_for_head_0_from_a_to_equals",
                     "attention_head_0_fourier", "attention_head_0_scores", "attention_key_frequency_share")
NEURON_FIGURES = ("first_5_neuron_activations", "2d_fourier_transform_of_neuron_0", "neuron_clusters",
                  "neuron_cluster_sizes")


def grid_of(fn, p):
    """A (p, p) float32 grid with entry [a, b] = fn(a, b) on tensors of angles 2 pi / p * (a, b)."""
    a = torch.arange(p, dtype=torch.float64)[:, None].expand(p, p)
    b = torch.arange(p, dtype=torch.float64)[None, :].expand(p, p)
    return fn(a * 2 * math.pi / p, b * 2 * math.pi / p).float()


def planted_context(p: int = 23) -> RunContext:
    """A RunContext with no run behind it: its inputs planted, everything else derived by its own code."""
    att = torch.stack([grid_of(lambda x, y, k=k: 0.5 + 0.3 * torch.cos(k * x), p) for k in (1, 2, 3, 4)])
    acts = torch.stack([grid_of(lambda x, y, k=k: torch.relu(torch.cos(k * x) + torch.cos(k * y)), p)
                        for k in range(1, 9)], -1)
    ctx = RunContext.__new__(RunContext)
    # cached_property values live in the instance dict: planting them skips the model
    ctx.__dict__.update(p=p, basis=fourier_basis(p), key_frequencies=[1, 2], attention_to_a=att, neuron_acts=acts,
                        attention_scores_to_a=att[:, :, 0].T.contiguous())  # (p, n_heads): a planted score
    return ctx


def test_every_writeup_figure_is_registered():
    assert set(WRITEUP_FIGURES) <= set(RUN_FIGURES)
    assert {"log_loss", "training_accuracy", "training_weight_norm"} <= set(RUN_FIGURES)
    assert set(ATTENTION_FIGURES) | set(NEURON_FIGURES) <= set(RUN_FIGURES)


# ------------------------------------------------------------------ what a figure drew
@pytest.fixture(scope="module")
def planted():
    """(the planted context, {name: its figure}) for the attention and neuron figures."""
    ctx = planted_context()
    yield ctx, {name: RUN_FIGURES[name](ctx) for name in ATTENTION_FIGURES + NEURON_FIGURES}
    plt.close("all")


def test_planted_context_analyses():
    ctx = planted_context()
    # the planted heads vary at frequencies 1, 2, 3, 4; the key frequencies are 1 and 2
    shares = attention.head_key_shares(ctx.attention_to_a, ctx.basis, [1, 2])
    assert torch.allclose(shares, torch.tensor([1.0, 1.0, 0.0, 0.0]), atol=1e-5)
    assert torch.equal(ctx.head_key_shares, shares)
    # each planted neuron is explained by its own frequency
    assert ctx.cluster_sizes == dict.fromkeys(range(1, 9), 1)
    assert ctx.n_unexplained_neurons == 0


def test_attention_heads_figure_draws_each_planted_head(planted):
    ctx, figs = planted
    fig = figs["attention_for_each_head_from_a_to_equals"]
    maps = panels(fig)
    assert len(maps) == 4 and len(colorbars(fig)) == 4
    for h, ax in enumerate(maps):
        assert image(ax).shape == (ctx.p, ctx.p)
        assert_drawn(image(ax), ctx.attention_to_a[h])
        assert ax.get_title() == f"Head {h}"
        assert ax.images[0].get_clim() == pytest.approx((float(ctx.attention_to_a.min()),
                                                         float(ctx.attention_to_a.max())))  # one scale


def test_attention_head_figure_draws_the_map_and_its_mean_over_b(planted):
    ctx, figs = planted
    fig = figs["attention_for_head_0_from_a_to_equals"]
    (left,) = panels(fig)
    assert_drawn(image(left), ctx.attention_to_a[0])
    assert "Head 0" in left.get_title()
    right = next(ax for ax in fig.axes if ax.lines)
    assert_drawn(right.lines[0].get_ydata(), ctx.attention_to_a[0].mean(dim=1))
    # head 0 was planted as 0.5 + 0.3 cos(2 pi a / p), the same for every b
    assert_drawn(right.lines[0].get_ydata(), 0.5 + 0.3 * np.cos(2 * np.pi * np.arange(ctx.p) / ctx.p))


@pytest.mark.parametrize(("name", "grid", "what", "peaks"), [
    ("attention_head_0_fourier", lambda ctx: ctx.attention_to_a[0], "Head 0", [(1, 0)]),
    ("2d_fourier_transform_of_neuron_0", lambda ctx: ctx.neuron_acts[:, :, 0], "Neuron 0", [(1, 0), (0, 1)]),
])
def test_fourier_2d_figures_draw_the_planted_frequencies(planted, name, grid, what, peaks):
    ctx, figs = planted
    fig = figs[name]
    full, zoom = panels(fig)
    spectrum = ctx.fourier_spectrum_2d(grid(ctx))
    K = (ctx.p - 1) // 2
    assert image(full).shape == (K + 1, K + 1)
    assert image(zoom).shape == (1 + 2 * len(ctx.key_frequencies),) * 2
    assert_drawn(image(full), spectrum["by_frequency"])
    assert_drawn(image(zoom), spectrum["zoom"])
    assert np.isnan(image(full)[0, 0])  # the mean is left blank
    # head 0 varies at frequency 1 over a only; neuron 0 = relu(cos a + cos b) at frequency 1 in each
    values = np.nan_to_num(image(full), nan=-1)
    largest = {tuple(int(i) for i in np.unravel_index(j, values.shape)) for j in values.argsort(None)[-len(peaks):]}
    assert largest == set(peaks)
    # round frequencies labelled (p = 23: every 5), the key frequencies 1 and 2 marked
    assert [t.get_text() for t in full.get_xticklabels()] == ["const", "5", "10"]
    assert list(full.get_xticks(minor=True)) == list(full.get_yticks(minor=True)) == [1, 2]
    assert full.get_title().startswith(what)
    assert len(colorbars(fig)) == 2


def test_attention_scores_figure_draws_the_score_and_its_spectrum(planted):
    ctx, figs = planted
    fig = figs["attention_head_0_scores"]
    left, right = fig.axes
    assert_drawn(left.lines[0].get_ydata(), ctx.attention_scores_to_a[:, 0])
    heights = bar_heights(right)
    assert_drawn(heights, ctx.score_frequency_norms(0))
    assert len(heights) == (ctx.p - 1) // 2
    assert heights.argmax() == 0  # frequency 1: head 0 was planted as a cosine of frequency 1
    assert sorted(t.get_text() for t in right.texts) == ["1", "2"]  # the key frequencies, labelled
    assert "Head 0" in left.get_title()


def test_key_share_figure_draws_the_planted_shares(planted):
    _, figs = planted
    (ax,) = figs["attention_key_frequency_share"].axes
    assert_drawn(bar_heights(ax), [1.0, 1.0, 0.0, 0.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["head 0", "head 1", "head 2", "head 3"]
    assert ax.get_title().endswith("1, 2")


def test_neuron_figure_draws_one_example_neuron_per_key_frequency(planted):
    ctx, figs = planted
    fig = figs["first_5_neuron_activations"]
    maps = panels(fig)
    # planted neuron n is relu(cos k a + cos k b) with k = n + 1; the key frequencies are 1 and 2
    assert len(maps) == 2 and len(colorbars(fig)) == 2
    for (n, k), ax in zip([(0, 1), (1, 2)], maps, strict=True):
        assert image(ax).shape == (ctx.p, ctx.p)
        order = by_angle(k, ctx.p)  # a and b placed by their angle on the neuron's frequency
        assert_drawn(image(ax), ctx.neuron_acts[:, :, n][order][:, order])
        assert ax.get_title() == f"Neuron {n} (k = {k})"
        assert ax.get_ylabel() == f"{k}·a mod {ctx.p}"


def test_example_neurons_are_the_best_explained_of_each_cluster():
    shares = torch.zeros(6, 5)  # 6 neurons, frequencies 1 .. 5
    shares[0, 0], shares[1, 0], shares[2, 0] = 0.9, 0.97, 0.5  # cluster 1: neurons 0 and 1 (2 is unexplained)
    shares[3, 2], shares[4, 2] = 0.99, 0.86  # cluster 3: neurons 3 and 4
    shares[5, 1] = 0.6  # frequency 2: no neuron above the threshold
    assert example_neurons(shares, [1, 2, 3]) == {1: 1, 3: 3}
    assert example_neurons(shares, [3, 1]) == {3: 3, 1: 1}  # in the order asked
    assert example_neurons(shares, [1], threshold=0.95) == {1: 1}


def test_dominant_frequency_is_the_strongest_wave():
    p = 23
    x = torch.arange(p, dtype=torch.float64) * 2 * math.pi / p
    curve = (0.2 + torch.cos(5 * x) + 0.5 * torch.sin(2 * x)).float()
    assert attention.dominant_frequency(curve, fourier_basis(p)) == 5


def test_head_figure_places_a_by_angle_on_the_heads_frequency():
    """A head that is a fast wave in a (frequency 5): ordered by 5a mod p, its mean over b is one slow wave."""
    p = 23
    att = grid_of(lambda x, y: 0.5 + 0.3 * torch.cos(5 * x), p)
    fig = plot_head(att, 0, k=5)
    (left,) = panels(fig)
    order = by_angle(5, p)
    assert_drawn(image(left), att[order][:, order])
    right = next(ax for ax in fig.axes if ax.lines)
    assert_drawn(right.lines[0].get_ydata(), 0.5 + 0.3 * np.cos(2 * np.pi * np.arange(p) / p))
    assert right.get_xlabel() == f"5·a mod {p}"
    plain = plot_head(att, 0)  # without k: a and b in their own order
    assert_drawn(next(ax for ax in plain.axes if ax.lines).lines[0].get_ydata(), att.mean(dim=1))
    plt.close("all")


def test_neuron_cluster_figures_count_the_planted_clusters(planted):
    ctx, figs = planted
    fig = figs["neuron_clusters"]
    left = next(ax for ax in fig.axes if ax.lines and not ax.images)
    (right,) = panels(fig)
    shares = ctx.neuron_frequency_shares
    assert_drawn(left.lines[0].get_ydata(), shares.max(dim=1).values.sort(descending=True).values)
    assert_drawn(image(right), shares[ctx.neuron_order])
    assert image(right).shape == (8, (ctx.p - 1) // 2)
    assert "8 of 8 neurons above it" in [t.get_text() for t in left.get_legend().get_texts()]

    (ax,) = figs["neuron_cluster_sizes"].axes
    assert_drawn(bar_heights(ax), [1] * 8 + [0])
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(k) for k in range(1, 9)] + ["none"]
    assert ax.get_legend() is not None  # frequencies 3 .. 8 are not key frequencies


@pytest.mark.parametrize("name", ATTENTION_FIGURES + NEURON_FIGURES)
def test_planted_figures_have_legible_labels(planted, name, overlapping_texts):
    assert overlapping_texts(planted[1][name]) == []


def test_sweep_figures_without_results_are_none(tmp_path):
    assert sweep_figures(None, None) == {}
    assert sweep_figures(tmp_path / "no-seeds", tmp_path / "no-phase") == {}
