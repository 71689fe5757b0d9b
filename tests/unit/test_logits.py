"""The logits chapter: the cos fit of the logits, the chunked loss, W_L's spectrum, neuron ablation."""

import math

import pytest
import torch
from matplotlib.figure import Figure

from grokking import analysis
from grokking.context import RunContext
from grokking.fourier import cos_sin, fourier_basis
from grokking.plotting import logits as plots

P = 31


def cos_table(k: int, p: int, phase: str = "cos") -> torch.Tensor:
    """(p*p, p) table of cos (or sin) of w_k (a + b - c), rows in row-major (a, b) order."""
    a = torch.arange(p).repeat_interleave(p)[:, None]
    b = torch.arange(p).repeat(p)[:, None]
    c = torch.arange(p)[None, :]
    angle = (2 * math.pi * k / p) * (a + b - c).double()
    return (torch.cos(angle) if phase == "cos" else torch.sin(angle)).float()


def planted_logits(freqs, alphas, p=P):
    """sum_k alpha_k cos(w_k(a+b-c)) plus a random constant per pair (which the softmax ignores)."""
    g = torch.Generator().manual_seed(1)
    logits = 3.0 * torch.randn(p * p, 1, generator=g).expand(p * p, p).clone()
    for k, alpha in zip(freqs, alphas):
        logits += alpha * cos_table(k, p)
    return logits


# ------------------------------------------------------------------ the cos fit
def test_fit_recovers_planted_alphas_exactly():
    freqs, alphas = [2, 7, 11], [5.0, 1.5, 0.25]
    fit = analysis.fit_cos_logits(planted_logits(freqs, alphas), freqs, P)
    assert torch.allclose(fit["alphas"], torch.tensor(alphas), atol=1e-5)
    assert fit["explained"] == pytest.approx(1.0, abs=1e-6)
    # the fit reproduces the logits up to each pair's constant
    centred = planted_logits(freqs, alphas)
    centred -= centred.mean(-1, keepdim=True)
    assert torch.allclose(fit["fitted"], centred, atol=1e-4)


@pytest.mark.parametrize("extra", ["cos 4", "sin 7", "cos 13"])
def test_orthogonal_term_lowers_explained_by_its_share(extra):
    freqs, alphas = [2, 7], [3.0, 2.0]
    beta = 1.5
    phase, k = extra.split()
    logits = planted_logits(freqs, alphas) + beta * cos_table(int(k), P, phase)
    fit = analysis.fit_cos_logits(logits, freqs, P)
    # every term has squared norm p^3 / 2, so the shares are ratios of squared weights
    expected = (3.0**2 + 2.0**2) / (3.0**2 + 2.0**2 + beta**2)
    assert fit["explained"] == pytest.approx(expected, abs=1e-5)
    assert torch.allclose(fit["alphas"], torch.tensor(alphas), atol=1e-4)  # the extra term does not leak in


def test_cross_entropy_chunked_matches_direct_float64():
    g = torch.Generator().manual_seed(2)
    logits = 20 * torch.randn(50, 7, generator=g)
    labels = torch.randint(0, 7, (50,), generator=g)
    direct = torch.nn.functional.cross_entropy(logits.double(), labels).item()
    by_hand = -(logits.double().log_softmax(-1)[torch.arange(50), labels]).mean().item()
    for chunk in (1, 8, 50, 2048):
        assert analysis.cross_entropy_chunked(logits, labels, chunk=chunk) == pytest.approx(direct, rel=1e-12)
    assert direct == pytest.approx(by_hand, rel=1e-12)


def test_unembed_frequency_norms_find_planted_frequencies():
    g = torch.Generator().manual_seed(3)
    c = torch.arange(P)
    cos5, sin5 = cos_sin(5, P, c)
    cos12, _ = cos_sin(12, P, c)
    W_L = torch.randn(40, 1, generator=g) * cos5 + torch.randn(40, 1, generator=g) * sin5 + 0.5 * cos12
    W_L += torch.randn(40, 1, generator=g)  # a constant per neuron is not a frequency
    norms = plots.unembed_frequency_norms(W_L, fourier_basis(P))
    assert norms.shape == ((P - 1) // 2,)
    assert set(norms.topk(2).indices.add(1).tolist()) == {5, 12}
    assert norms[[i for i in range(len(norms)) if i + 1 not in (5, 12)]].max() < 1e-4
    # the norm of a planted 0.5 cos over 40 neurons: 0.5 * sqrt(p/2) * sqrt(40)
    assert norms[11] == pytest.approx(0.5 * math.sqrt(P / 2) * math.sqrt(40), rel=1e-4)


# ------------------------------------------------------------------ ablation helpers
def test_ablation_hook_overwrites_only_chosen_neurons_at_last_position():
    act = torch.arange(2 * 3 * 6, dtype=torch.float32).reshape(2, 3, 6)
    means = torch.full((6,), -1.0)
    zeroed = analysis.neuron_ablation_hook(torch.tensor([1, 4]))(act.clone())
    meaned = analysis.neuron_ablation_hook([1, 4], means)(act.clone())
    assert (zeroed[:, -1, [1, 4]] == 0).all() and (meaned[:, -1, [1, 4]] == -1).all()
    keep = [0, 2, 3, 5]
    for out in (zeroed, meaned):
        assert torch.equal(out[:, :2], act[:, :2])
        assert torch.equal(out[:, -1, keep], act[:, -1, keep])


def test_neurons_of_frequency():
    dominant = torch.tensor([3, 5, 3, 3, 7])
    explained = torch.tensor([True, True, False, True, True])
    assert analysis.neurons_of_frequency(dominant, explained, 3).tolist() == [0, 3]
    assert analysis.neurons_of_frequency(dominant, explained, 9).tolist() == []


# ------------------------------------------------------------------ the committed run
@pytest.fixture(scope="module")
def ctx(canonical):
    return RunContext(canonical)


def test_committed_logits_are_mostly_key_frequency_cosines(ctx):
    fit = ctx.cos_fit
    assert fit["explained"] > 0.9
    assert (fit["alphas"] > 0).all()  # every key frequency votes *for* c = a + b
    tokens, labels = ctx.pairs
    test = ctx.run.data.test_idx
    fit_loss, fit_acc = analysis.loss_and_accuracy(fit["fitted"][test], labels[test])
    model_loss, _ = analysis.loss_and_accuracy(ctx.logits[test], labels[test])
    assert fit_acc == 1.0
    # the cos terms alone are a classifier about as good as the model (the paper: even better)
    assert fit_loss < 1e-3 and fit_loss < 100 * model_loss
    print(f"test loss: model {model_loss:.3g}, cos fit {fit_loss:.3g}; explained {fit['explained']:.4f}")


def test_committed_W_L_lives_in_the_key_frequencies(ctx):
    norms = plots.unembed_frequency_norms(ctx.W_L, ctx.basis).double()
    share = norms[[k - 1 for k in ctx.key_frequencies]].pow(2).sum() / norms.pow(2).sum()
    assert share > 0.9


def test_ablating_nothing_reproduces_the_model(ctx):
    tokens, labels = ctx.pairs
    logits = analysis.logits_with_neurons_ablated(ctx.model, tokens, torch.tensor([], dtype=torch.long))
    assert torch.allclose(logits, ctx.logits, atol=1e-5)
    loss, acc = analysis.loss_and_accuracy(logits, labels)
    assert loss == pytest.approx(analysis.cross_entropy_chunked(ctx.logits, labels), rel=1e-3)
    assert acc > 0.999


def test_mean_ablating_a_key_cluster_breaks_the_model(ctx):
    result = plots.cluster_ablation(ctx)
    base_loss, base_acc = result["baseline"]
    assert base_acc == 1.0
    assert set(result["clusters"]) <= set(ctx.key_frequencies)
    worst = max(loss for _, loss, _ in result["clusters"].values())
    assert worst > 1000 * base_loss


def test_figures_draw(ctx):
    for name, fn in plots.FIGURES.items():
        if name != "cluster_ablation_loss":  # drawn above through cluster_ablation; slow-ish
            assert isinstance(fn(ctx), Figure), name
    result = {"baseline": (1e-7, 1.0), "clusters": {4: (10, 0.1, 0.9)}, "unexplained": (3, 1e-3, 1.0)}
    assert isinstance(plots.plot_cluster_ablation(result), Figure)
