"""The logits: the cos fit, the chunked loss, W_L's spectrum, on planted logits with known answers."""

import math

import pytest
import torch

from grokking.analysis import logits as analysis
from grokking.analysis.fourier import cos_sin, fourier_basis
from grokking.config import Config
from grokking.data import make_dataset

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
    for k, alpha in zip(freqs, alphas, strict=False):
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
    norms = analysis.unembed_frequency_norms(W_L, fourier_basis(P))
    assert norms.shape == ((P - 1) // 2,)
    assert set(norms.topk(2).indices.add(1).tolist()) == {5, 12}
    assert norms[[i for i in range(len(norms)) if i + 1 not in (5, 12)]].max() < 1e-4
    # the norm of a planted 0.5 cos over 40 neurons: 0.5 * sqrt(p/2) * sqrt(40)
    assert norms[11] == pytest.approx(0.5 * math.sqrt(P / 2) * math.sqrt(40), rel=1e-4)


def test_loss_and_accuracy():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    labels = torch.tensor([0, 1])
    loss, acc = analysis.loss_and_accuracy(logits, labels)
    assert acc == 0.5
    assert loss == pytest.approx(analysis.cross_entropy_chunked(logits, labels), rel=1e-12)


def test_cos_logit_terms_and_waves_are_the_cos_table():
    for k in (1, 6):
        left, right = analysis.cos_logit_terms(k, P)
        assert left.shape == (P * P, 2)
        assert right.shape == (2, P)
        assert torch.allclose(left @ right, cos_table(k, P), atol=1e-5)
    freqs, s = [2, 7], 40
    waves = analysis.cos_waves(freqs, s, P)
    c = torch.arange(P)
    assert torch.allclose(waves[1], torch.cos(2 * math.pi * 7 / P * (s - c).double()).float(), atol=1e-6)
    terms = analysis.cos_terms(freqs, torch.tensor([2.0, -0.5]), s, P)
    assert torch.allclose(terms, torch.tensor([[2.0], [-0.5]]) * waves)


def test_unembed_fourier_and_angles():
    g = torch.Generator().manual_seed(4)
    W_L = torch.randn(6, P, generator=g)
    basis = fourier_basis(P)
    coeffs = analysis.unembed_fourier(W_L, basis)
    assert coeffs.shape == (6, P)
    assert torch.allclose(coeffs @ basis, W_L, atol=1e-5)  # orthonormal rows: back again
    assert analysis.angle_of(3, P, P) == pytest.approx(0.0, abs=1e-12)
    assert analysis.angle_of(1, P, 1) == pytest.approx(2 * math.pi / P)


def test_first_test_pair_is_not_a_training_pair():
    data = make_dataset(Config(p=23))
    a, b = analysis.first_test_pair(data)
    assert int(data.test_idx[0]) == a * 23 + b
    assert (a * 23 + b) not in set(data.train_idx.tolist())


def test_cluster_readout_rank_planted_rows():
    p = 31
    basis = fourier_basis(p)
    c = torch.arange(p, dtype=torch.float64)
    gen = torch.Generator().manual_seed(1)
    phases = torch.rand(20, 1, generator=gen, dtype=torch.float64) * 2 * math.pi
    amps = 1 + torch.rand(20, 1, generator=gen, dtype=torch.float64)
    W_L = torch.zeros(40, p, dtype=torch.float64)
    W_L[:20] = amps * torch.cos(2 * math.pi * 4 * c / p + phases)  # neurons 0-19: frequency 4, rank 2
    W_L[20:] = torch.randn(20, p, generator=gen, dtype=torch.float64)  # neurons 20-39: noise
    out = analysis.cluster_readout_rank(W_L, {4: torch.arange(20), 6: torch.arange(20, 40)}, basis)
    assert out[4]["top_share"] == pytest.approx(1.0, abs=1e-9)
    assert out[4]["in_frequency"] == pytest.approx(1.0, abs=1e-6)
    assert out[6]["top_share"] < 0.5 and out[6]["in_frequency"] < 0.3


def test_sum_only_shares_planted():
    p = 11
    a = torch.arange(p).repeat_interleave(p).double()
    b = torch.arange(p).repeat(p).double()
    c = torch.arange(p).double()
    s = (a + b)[:, None]
    through_sum = torch.cos(2 * math.pi * 3 * (s - c) / p)  # depends on (a, b) only through a + b
    assert torch.allclose(analysis.sum_only_shares(through_sum, p), torch.ones(p, dtype=torch.float64))
    only_a = torch.cos(2 * math.pi * 2 * a / p)[:, None].expand(p * p, p)  # no part of it is a function of a + b
    assert analysis.sum_only_shares(only_a, p).abs().max() < 1e-12
    half = through_sum + only_a  # equal variances, uncorrelated
    assert torch.allclose(analysis.sum_only_shares(half, p), torch.full((p,), 0.5, dtype=torch.float64))
