"""The figure registry (grokking.figures): names, and figures drawn from planted results."""

import math

import torch
from matplotlib.figure import Figure

from grokking.analysis import attention
from grokking.analysis.context import RunContext
from grokking.analysis.fourier import fourier_basis
from grokking.figures import RUN_FIGURES, WRITEUP_FIGURES, sweep_figures

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


def test_attention_and_neuron_figures_draw_from_a_planted_context():
    ctx = planted_context()
    for name in ATTENTION_FIGURES + NEURON_FIGURES:
        assert isinstance(RUN_FIGURES[name](ctx), Figure), name
    # the planted heads vary at frequencies 1, 2, 3, 4; the key frequencies are 1 and 2
    shares = attention.head_key_shares(ctx.attention_to_a, ctx.basis, [1, 2])
    assert torch.allclose(shares, torch.tensor([1.0, 1.0, 0.0, 0.0]), atol=1e-5)
    assert torch.equal(ctx.head_key_shares, shares)
    # each planted neuron is explained by its own frequency
    assert ctx.cluster_sizes == dict.fromkeys(range(1, 9), 1)
    assert ctx.n_unexplained_neurons == 0


def test_sweep_figures_without_results_are_none(tmp_path):
    assert sweep_figures(None, None) == {}
    assert sweep_figures(tmp_path / "no-seeds", tmp_path / "no-phase") == {}
