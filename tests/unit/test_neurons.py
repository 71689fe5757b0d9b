"""Attention patterns and MLP neurons: 2D Fourier shares on planted grids and on the committed run."""

import math
from types import SimpleNamespace

import pytest
import torch
from matplotlib.figure import Figure

from grokking import analysis
from grokking.context import RunContext
from grokking.fourier import fourier_basis
from grokking.plotting import attention as attention_plots
from grokking.plotting import neurons as neuron_plots

P = 113


def grid_of(fn, p=P):
    """A (p, p) float32 grid with entry [a, b] = fn(a, b) on tensors of angles 2 pi / p * (a, b)."""
    a = torch.arange(p, dtype=torch.float64)[:, None].expand(p, p)
    b = torch.arange(p, dtype=torch.float64)[None, :].expand(p, p)
    return fn(a * 2 * math.pi / p, b * 2 * math.pi / p).float()


@pytest.fixture(scope="module")
def basis():
    return fourier_basis(P)


@pytest.mark.parametrize("k", [5, 17, 42])
def test_planted_relu_neuron_gets_its_frequency(basis, k):
    grid = grid_of(lambda x, y: torch.relu(torch.cos(k * x) + torch.cos(k * y)))
    shares = analysis.single_frequency_shares(grid[..., None], basis)  # one "neuron"
    dominant, explained = analysis.neuron_clusters(shares)
    assert int(dominant[0]) == k
    assert bool(explained[0])
    assert float(shares[0, k - 1]) > 0.85
    # everything else shares what is left
    assert float(shares[0].sum() - shares[0, k - 1]) < 0.15


def test_noise_neuron_is_not_explained(basis):
    noise = torch.relu(torch.randn(P, P, 3))
    shares = analysis.single_frequency_shares(noise, basis)
    _, explained = analysis.neuron_clusters(shares)
    assert not explained.any()
    assert float(shares.max()) < 0.2


def test_cluster_sizes_count_only_explained_neurons(basis):
    grids = [grid_of(lambda x, y, k=k: torch.relu(torch.cos(k * x + 1) + torch.cos(k * y + 2))) for k in (3, 3, 8)]
    grids.append(torch.randn(P, P))
    shares = analysis.single_frequency_shares(torch.stack(grids, -1), basis)
    assert analysis.cluster_sizes(*analysis.neuron_clusters(shares)) == {3: 2, 8: 1}


def test_share_in_frequencies_planted(basis):
    grid = grid_of(lambda x, y: 2 * torch.cos(3 * x) - torch.sin(10 * y) + 0.5 * torch.cos(3 * x) * torch.sin(10 * y)
                   + 4.0)
    assert float(analysis.share_in_frequencies(grid, basis, [3, 10])) == pytest.approx(1, abs=1e-5)
    assert float(analysis.share_in_frequencies(grid, basis, [20])) == pytest.approx(0, abs=1e-5)
    # the cos 3 term alone carries 2^2 / (2^2 + 1 + 0.5^2 / 2) of the variance
    assert float(analysis.share_in_frequencies(grid, basis, [3])) == pytest.approx(4 / 5.125, rel=1e-4)


def test_attention_to_a_indexing():
    p, heads = 7, 3
    pattern = torch.zeros(p * p, heads, 3, 3)
    for a in range(p):
        for b in range(p):
            for h in range(heads):
                pattern[a * p + b, h, 2, 0] = 100 * h + 10 * a + b
                pattern[a * p + b, h, 2, 1] = -1  # attention to 'b' must not leak in
                pattern[a * p + b, h, 0, 0] = -2  # nor another query position
    att = analysis.attention_to_a(pattern, p)
    assert att.shape == (heads, p, p)
    h, a, b = torch.meshgrid(torch.arange(heads), torch.arange(p), torch.arange(p), indexing="ij")
    assert torch.equal(att, (100 * h + 10 * a + b).float())


def test_plots_on_synthetic_context():
    p = 23
    basis = fourier_basis(p)
    att = torch.stack([grid_of(lambda x, y, k=k: 0.5 + 0.3 * torch.cos(k * x), p) for k in (1, 2, 3, 4)])
    acts = torch.stack([grid_of(lambda x, y, k=k: torch.relu(torch.cos(k * x) + torch.cos(k * y)), p)
                        for k in range(1, 9)], -1)
    ctx = SimpleNamespace(attention_to_a=att, basis=basis, key_frequencies=[1, 2], neuron_acts=acts,
                          neuron_frequency_shares=analysis.single_frequency_shares(acts, basis))
    figures = {**attention_plots.FIGURES, **neuron_plots.FIGURES}
    assert {"attention_for_each_head_from_a_to_equals", "attention_for_head_0_from_a_to_equals",
            "first_5_neuron_activations", "2d_fourier_transform_of_neuron_0"} <= set(figures)
    for name, fn in figures.items():
        if name != "attention_head_0_scores":  # needs a model; drawn below from a planted score
            assert isinstance(fn(ctx), Figure), name
    assert isinstance(attention_plots.plot_head_scores(att[0, :, 0], basis, [1, 2]), Figure)
    shares = attention_plots.head_key_shares(att, basis, [1, 2])
    assert torch.allclose(shares, torch.tensor([1.0, 1.0, 0.0, 0.0]), atol=1e-5)


# ---------------------------------------------------------------- the committed run
@pytest.fixture(scope="module")
def ctx(canonical):
    return RunContext(canonical)


def test_committed_run_neurons_cluster_on_key_frequencies(ctx):
    dominant, explained = analysis.neuron_clusters(ctx.neuron_frequency_shares)
    assert len(explained) == 512
    # The paper's run had 433 of 512 (85%) above the bar and the book's issue asked for
    # > 80%. The committed run (the TransformerLens demo's setup, MLP biases frozen at
    # zero) has 344 of 512 (67%); the rest mostly mix two key frequencies. The target is
    # NOT met (see the neurons chapter): this asserts what the committed run shows, so
    # that a regression below it fails.
    assert explained.double().mean() > 0.65
    sizes = analysis.cluster_sizes(dominant, explained)
    big = [k for k, n in sizes.items() if n >= 10]
    assert big and set(big) <= set(ctx.key_frequencies)


def test_committed_run_heads_use_key_frequencies(ctx):
    att = ctx.attention_to_a
    assert att.shape == (4, P, P)
    # '=' splits its attention among three positions, so attention to 'a' is a weight in [0, 1]
    assert float(att.min()) >= 0 and float(att.max()) <= 1
    shares = attention_plots.head_key_shares(att, ctx.basis, ctx.key_frequencies)
    assert shares.shape == (4,)
    assert ((shares >= 0) & (shares <= 1)).all()
    assert float(shares.min()) > 0.5
