"""Progress measures: known answers on planted logits, and on a tiny trained run."""

import math

import numpy as np
import pytest
import torch

from grokking.analysis import hooks, progress
from grokking.analysis.fourier import fourier_basis
from grokking.analysis.logits import cross_entropy_chunked
from grokking.analysis.neurons import neuron_clusters, single_frequency_shares
from grokking.data import all_pairs, make_dataset
from grokking.runs import store
from grokking.runs.load import model_from_state
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


def test_pack_bits_matches_numpy_packbits_and_round_trips():
    gen = torch.Generator().manual_seed(3)
    for n in (1, 7, 8, 9, 113 * 113):
        flags = torch.rand(n, generator=gen) < 0.4
        packed = progress.pack_bits(flags)
        assert packed.dtype == torch.uint8 and packed.shape == (-(-n // 8),)
        assert packed.tolist() == np.packbits(flags.numpy()).tolist()
        assert torch.equal(progress.unpack_bits(packed, n), flags)
    # Batched unpacking: one row per checkpoint.
    rows = torch.stack([progress.pack_bits(torch.tensor([True, False, True])),
                        progress.pack_bits(torch.tensor([False, False, True]))])
    assert progress.unpack_bits(rows, 3).tolist() == [[True, False, True], [False, False, True]]


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
        # The stored right/wrong bits give the history's accuracies on each split.
        right = progress.unpack_bits(measures["correct_bits"][i], tiny_config.p ** 2)
        data = make_dataset(tiny_config)
        assert right[data.train_idx].double().mean() == pytest.approx(history["train_acc"][j], abs=1e-9)
        assert right[data.test_idx].double().mean() == pytest.approx(history["test_acc"][j], abs=1e-9)
    # The last checkpoint's neuron clusters and per-key excluded losses, against the same
    # analyses on HookedTransformer's own forward pass (the reference path).
    model = model_from_state(tiny_config, store.load_tensors(store.checkpoint_path(run_dir, 60)))
    cache = hooks.run_cache(model, data.tokens)
    p = tiny_config.p
    dominant, explained = neuron_clusters(single_frequency_shares(cache["post"].reshape(p, p, -1), fourier_basis(p)))
    assert torch.equal(measures["neuron_cluster"][-1], torch.where(explained, dominant, 0).to(torch.uint8))
    assert measures["neuron_cluster"].shape == (4, tiny_config.d_mlp)
    for j, k in enumerate([1, 2]):
        ref = cross_entropy_chunked(progress.excluded_logits(cache["logits"], p, [k])[data.train_idx],
                                    data.labels[data.train_idx])
        assert measures["excluded_loss_per_key"][-1, j] == pytest.approx(ref, rel=1e-4)
    assert measures["correct_bits"].dtype == torch.uint8
    assert measures["correct_bits"].shape == (4, -(-tiny_config.p ** 2 // 8))
    assert measures["W_E_freq_norms"].shape == (4, (tiny_config.p - 1) // 2)
    progress.save_progress(run_dir, measures)
    loaded = progress.load_progress(run_dir)
    assert torch.equal(loaded["restricted_loss"], measures["restricted_loss"])
