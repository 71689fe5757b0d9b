"""The committed run's logits: mostly key-frequency cosines, W_L in the key frequencies, neuron ablation."""

import pytest
import torch
from matplotlib.figure import Figure

from grokking.analysis import ablations, hooks
from grokking.analysis import logits as analysis
from grokking.analysis.context import RunContext
from grokking.analysis.logits import unembed_frequency_norms
from grokking.figures import RUN_FIGURES

# The figures of the logits chapter.
LOGITS_FIGURES = ("unembed_in_fourier_basis", "unembed_frequency_norms", "logits_vs_cos_fit", "cos_fit_alphas",
                  "cos_terms_interference", "cluster_ablation_loss")


@pytest.fixture(scope="module")
def ctx(canonical):
    return RunContext(canonical)


def test_committed_logits_are_mostly_key_frequency_cosines(ctx):
    fit = ctx.cos_fit
    assert fit["explained"] > 0.9
    assert (fit["alphas"] > 0).all()  # every key frequency votes *for* c = a + b
    _tokens, labels = ctx.pairs
    test = ctx.run.data.test_idx
    fit_loss, fit_acc = analysis.loss_and_accuracy(fit["fitted"][test], labels[test])
    model_loss, _ = analysis.loss_and_accuracy(ctx.logits[test], labels[test])
    assert fit_acc == 1.0
    # the cos terms alone are a classifier about as good as the model (the paper: even better)
    assert fit_loss < 1e-3
    assert fit_loss < 100 * model_loss
    print(f"test loss: model {model_loss:.3g}, cos fit {fit_loss:.3g}; explained {fit['explained']:.4f}")


def test_committed_W_L_lives_in_the_key_frequencies(ctx):
    norms = unembed_frequency_norms(ctx.W_L, ctx.basis).double()
    assert torch.equal(ctx.unembed_frequency_norms.double(), norms)
    share = norms[[k - 1 for k in ctx.key_frequencies]].pow(2).sum() / norms.pow(2).sum()
    assert share > 0.9


def test_ablating_nothing_reproduces_the_model(ctx):
    tokens, labels = ctx.pairs
    logits = hooks.logits_with_neurons_ablated(ctx.model, tokens, torch.tensor([], dtype=torch.long))
    assert torch.allclose(logits, ctx.logits, atol=1e-5)
    loss, acc = analysis.loss_and_accuracy(logits, labels)
    assert loss == pytest.approx(analysis.cross_entropy_chunked(ctx.logits, labels), rel=1e-3)
    assert acc > 0.999


def test_mean_ablating_a_key_cluster_breaks_the_model(ctx):
    result = ctx.cluster_ablation  # hooks.cluster_ablation of the run
    base_loss, base_acc = result["baseline"]
    assert base_acc == 1.0
    assert set(result["clusters"]) <= set(ctx.key_frequencies)
    worst = max(loss for _, loss, _ in result["clusters"].values())
    assert worst > 1000 * base_loss


def test_figures_draw(ctx):
    for name in LOGITS_FIGURES:
        assert isinstance(RUN_FIGURES[name](ctx), Figure), name


def test_what_the_clusters_leave_out(canonical, ctx):
    """The logits chapter's last section: the parts add up, and what each does on its own."""
    parts = ctx.logit_parts
    assert list(parts) == ["direct path", "clustered neurons", "unclustered neurons"]
    assert torch.allclose(sum(parts.values()), ctx.logits, atol=1e-3)
    data = canonical.data
    rows = ablations.part_table(parts, data.labels, data.train_idx, data.test_idx)
    chance = 1 / canonical.config.p
    assert rows["whole model"]["test accuracy"] == 1.0
    assert rows["only clustered neurons"]["test accuracy"] > 0.9
    assert rows["only unclustered neurons"]["test accuracy"] < 3 * chance
    assert 3 * chance < rows["only direct path"]["test accuracy"] < 0.5
    without = rows["without unclustered neurons"]
    assert without["test accuracy"] > 0.999
    ratio_train = without["train loss"] / rows["whole model"]["train loss"]
    ratio_test = without["test loss"] / rows["whole model"]["test loss"]
    assert ratio_train > 1 and ratio_test > 1 and 0.5 < ratio_train / ratio_test < 2  # not a memorised table
    # about a fifth of the neurons are unclustered (the paper's run: 79 of 512)
    _, explained = ctx.neuron_clusters
    assert 0.1 < float((~explained).double().mean()) < 0.3
