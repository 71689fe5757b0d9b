"""Fourier ablations of the committed run's final logits: the key frequencies carry the answer."""

import math

import pytest
import torch

from grokking.analysis import ablations, progress
from grokking.analysis.context import RunContext
from grokking.analysis.logits import cross_entropy_chunked
from grokking.data import all_pairs


@pytest.fixture(scope="module")
def measured(canonical):
    return progress.load_progress(canonical.path)


@pytest.fixture(scope="module")
def final_logits(canonical):
    tokens, _ = all_pairs(canonical.config.p)
    with torch.no_grad():
        return canonical.model(tokens)[:, -1]


def test_committed_run_ablations(canonical, measured, final_logits):
    p = canonical.config.p
    keys = measured["key_frequencies"].tolist()
    labels = all_pairs(p)[1]
    test_idx = canonical.data.test_idx
    rows = ablations.frequency_ablation_losses(final_logits, labels, test_idx, p, keys, control_freqs=[1])
    model = rows["model"]["all pairs"]
    # Nothing ablated: the model's own losses, as recorded in training.
    assert cross_entropy_chunked(ablations.ablate_frequencies(final_logits, p, []), labels) == model
    assert rows["model"]["test pairs"] == pytest.approx(float(canonical.history["test_loss"][-1]), rel=1e-3)
    # All key frequencies out: orders of magnitude worse, worse than chance.
    assert rows["without all key frequencies"]["all pairs"] > max(1e4 * model, math.log(p))
    for k in keys:
        assert rows[f"without k={k}"]["all pairs"] > 100 * model
    assert rows["without k=1 (control)"]["all pairs"] < 2 * model
    # Key frequencies only: not worse (at most 10x the model's loss; in fact lower).
    assert rows["key frequencies only"]["all pairs"] <= 10 * model
    assert rows["key frequencies only"]["all pairs"] == pytest.approx(float(measured["restricted_loss"][-1]), rel=1e-3)
    # The chapter's table: the same rows, with the strongest non-key embedding frequency as control.
    ctx = RunContext(canonical)
    table = ctx.frequency_ablations
    control = ablations.strongest_other_frequency(ctx.embedding_frequency_norms, keys)
    assert ctx.key_frequencies == keys
    assert f"without k={control} (control)" in table
    assert table["model"] == rows["model"]
    assert table["key frequencies only"] == rows["key frequencies only"]
