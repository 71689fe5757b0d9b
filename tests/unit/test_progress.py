"""Progress measures: known answers on planted logits, and on a tiny trained run."""

import math

import pytest
import torch

from grokking.analysis import progress
from grokking.analysis.logits import cross_entropy_chunked
from grokking.data import all_pairs
from grokking.runs import store
from grokking.training.loop import train


def planted_logits(p, freqs, alphas, const=0.7):
    a = torch.arange(p).repeat_interleave(p).double()
    b = torch.arange(p).repeat(p).double()
    c = torch.arange(p).double()
    s = (a + b)[:, None]
    out = torch.full((p * p, p), const, dtype=torch.float64)
    for k, alpha in zip(freqs, alphas, strict=False):
        out += alpha * torch.cos(2 * math.pi * k * (s - c) / p)
    return out.float()


def test_gini_extremes():
    assert progress.gini(torch.ones(56)) == pytest.approx(0.0, abs=1e-12)
    one_hot = torch.zeros(56)
    one_hot[7] = 3.0
    assert progress.gini(one_hot) == pytest.approx(55 / 56)
    assert 0 < progress.gini(torch.arange(56.0)) < 55 / 56


def test_sum_frequency_basis_orthonormal():
    q = progress.sum_frequency_basis(13, [1, 4, 6], constant=True).double()
    assert q.shape == (169, 7)
    assert torch.allclose(q.t() @ q, torch.eye(7, dtype=torch.float64), atol=1e-6)


def test_restricted_keeps_and_excluded_removes_key_terms():
    p, freqs = 23, [3, 8]
    logits = planted_logits(p, freqs, [4.0, 2.5])
    labels = all_pairs(p)[1]
    full = cross_entropy_chunked(logits, labels)
    # Logits made only of key-frequency terms: the restricted loss equals the full loss ...
    restricted = progress.restricted_logits(logits, p, freqs)
    assert torch.allclose(restricted, logits, atol=1e-4)
    assert cross_entropy_chunked(restricted, labels) == pytest.approx(full, rel=1e-5)
    # ... and excluding them leaves a constant: the loss of a uniform guess, ln p.
    excluded = progress.excluded_logits(logits, p, freqs)
    assert cross_entropy_chunked(excluded, labels) == pytest.approx(math.log(p), rel=1e-5)
    # Restricting to a frequency the logits do not use removes everything but the constant.
    restricted = progress.restricted_logits(logits, p, [5])
    assert cross_entropy_chunked(restricted, labels) == pytest.approx(math.log(p), rel=1e-5)


def test_compute_progress_on_a_tiny_run(tmp_path, tiny_config):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    store.write_config(run_dir, tiny_config)
    history = train(tiny_config, run_dir).history
    measures = progress.compute_progress(run_dir, key_freqs=[1, 2])
    assert measures["epoch"].tolist() == [0, 20, 40, 60]
    for key in progress.MEASURES:
        assert measures[key].shape == (4,) and torch.isfinite(measures[key]).all(), key
    # Train and test loss agree with the training history at the same epochs.
    for i, epoch in enumerate(measures["epoch"].tolist()):
        j = history["epoch"].index(epoch)
        assert measures["train_loss"][i] == pytest.approx(history["train_loss"][j], rel=1e-4)
        assert measures["test_loss"][i] == pytest.approx(history["test_loss"][j], rel=1e-4)
        assert measures["sum_sq_weights"][i] == pytest.approx(history["weight_norm"][j] ** 2, rel=1e-6)
    assert measures["W_E_freq_norms"].shape == (4, (tiny_config.p - 1) // 2)
    progress.save_progress(run_dir, measures)
    loaded = progress.load_progress(run_dir)
    assert torch.equal(loaded["restricted_loss"], measures["restricted_loss"])
