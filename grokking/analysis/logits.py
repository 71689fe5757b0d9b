"""The logits over (a, b, c): cross-entropy, the cos(w(a+b-c)) fit, W_L = W_out W_U.

Conventions: per-pair tensors are in row-major (a, b) order (:mod:`grokking.data`);
frequencies are 1-based (k = 1 .. (p-1)/2), w_k = 2 pi k / p.
"""

from __future__ import annotations

import math

import torch

from ..data import Dataset, pair_grid
from .fourier import cos_sin, frequency_norms, to_fourier


def cross_entropy_chunked(logits: torch.Tensor, labels: torch.Tensor, chunk: int = 2048) -> float:
    """Mean cross-entropy in float64, a chunk of rows at a time (never a p^3 float64 tensor)."""
    total = 0.0
    for start in range(0, len(labels), chunk):
        block = logits[start : start + chunk].double().log_softmax(-1)
        total -= float(block.gather(-1, labels[start : start + chunk, None]).sum())
    return total / len(labels)


def loss_and_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy (float64, chunked) and the share of rows whose top logit is the label."""
    return cross_entropy_chunked(logits, labels), float((logits.argmax(-1) == labels).double().mean())


def cos_logit_terms(k: int, p: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Factors of cos(w (a + b - c)) = cos(w(a+b)) cos(wc) + sin(w(a+b)) sin(wc).

    Returns ``(left, right)``: left (p*p, 2) over pairs, right (2, p) over outputs c,
    so that ``left @ right`` is the (p*p, p) table of cos(w_k (a + b - c)).
    """
    a, b = pair_grid(p)
    cs, sn = cos_sin(k, p, a + b)
    cc, sc = cos_sin(k, p, torch.arange(p))
    return torch.stack([cs, sn], 1), torch.stack([cc, sc], 0)


def fit_cos_logits(logits: torch.Tensor, freqs: list[int], p: int) -> dict:
    """Fit logits (p*p, p) by sum_k alpha_k cos(w_k (a + b - c)) plus a per-pair constant.

    The cos terms are orthogonal to each other and to constants over (a, b, c), so
    alpha_k is a projection: <L, f_k> / <f_k, f_k> with <f_k, f_k> = p^3 / 2.
    Returns alphas, the fitted logits (float32), and the share of the logits'
    variance (after removing each pair's mean, which the softmax ignores) explained.
    """
    centred = logits.float() - logits.float().mean(-1, keepdim=True)
    fitted = torch.zeros_like(centred)
    alphas = []
    for k in freqs:
        left, right = cos_logit_terms(k, p)
        # <L, f_k> = sum over pairs of left . (L @ right.T), never forming the p^3 cos table
        alpha = float((left * (centred @ right.t())).double().sum()) / (p**3 / 2)
        alphas.append(alpha)
        fitted += alpha * (left @ right)
    residual = (centred - fitted).pow(2).sum(dtype=torch.float64)  # float64 sums, no float64 cube
    explained = 1 - float(residual / centred.pow(2).sum(dtype=torch.float64))
    return {"alphas": torch.tensor(alphas), "fitted": fitted, "explained": explained}


def cos_waves(freqs: list[int], s: int, p: int) -> torch.Tensor:
    """cos(w_k (s - c)) over c = 0 .. p-1 for each frequency: (len(freqs), p)."""
    c = torch.arange(p)
    return torch.stack([cos_sin(k, p, s - c)[0] for k in freqs])


def cos_terms(freqs: list[int], alphas: torch.Tensor, s: int, p: int) -> torch.Tensor:
    """alpha_k cos(w_k (s - c)) over c = 0 .. p-1 for each key frequency: (len(freqs), p)."""
    return torch.as_tensor(alphas, dtype=torch.float32)[:, None] * cos_waves(freqs, s, p)


def unembed_product(model) -> torch.Tensor:
    """W_L = W_out W_U: how each neuron writes to each output logit, (d_mlp, p)."""
    return (model.W_out[0] @ model.W_U).detach()


def unembed_fourier(W_L: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """W_L (d_mlp, p) in the Fourier basis over the output c: (d_mlp, p), column i = basis vector i."""
    return to_fourier(W_L.double(), basis.double(), 1).float()


def unembed_frequency_norms(W_L: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Norm of W_L's Fourier coefficients per output frequency k = 1 .. (p-1)/2 (all neurons together)."""
    return frequency_norms(unembed_fourier(W_L, basis), dim=1)


def angle_of(k: int, p: int, x: int) -> float:
    """The angle w_k x in radians, reduced to [0, 2 pi)."""
    return (2 * math.pi * k * x / p) % (2 * math.pi)


def first_test_pair(data: Dataset) -> tuple[int, int]:
    """The first test pair (a, b) of the split: a pair the model never trained on."""
    a, b, _ = data.tokens[data.test_idx[0]].tolist()
    return a, b


def cluster_readout_rank(W_L: torch.Tensor, clusters: dict[int, torch.Tensor], basis: torch.Tensor,
                         rank: int = 2) -> dict[int, dict[str, float]]:
    """How close each cluster's rows of W_L are to a rank-``rank`` map onto its own frequency.

    ``W_L`` is (d_mlp, p), ``clusters`` maps a frequency k to its neurons, ``basis`` the
    (p, p) Fourier basis. Per cluster, from the SVD of its rows W_L[neurons] (n, p):
    ``"top_share"``, the share of the squared singular values in the first ``rank``, and
    ``"in_frequency"``, the share of those right singular vectors' power (over c) that lies
    in cos(w_k c) and sin(w_k c). Both are 1 for rows that are exactly mixtures of
    cos(w_k c) and sin(w_k c).
    """
    out = {}
    for k, neurons in clusters.items():
        _, s, vh = torch.linalg.svd(W_L[neurons].double(), full_matrices=False)
        top = vh[:rank]  # (rank, p): the leading directions over c
        coeffs = top @ basis.double().t()  # (rank, p) in the Fourier basis
        out[k] = {"top_share": float(s[:rank].pow(2).sum() / s.pow(2).sum()),
                  "in_frequency": float(coeffs[:, 2 * k - 1 : 2 * k + 1].pow(2).sum() / coeffs.pow(2).sum())}
    return out


def sum_only_shares(logits: torch.Tensor, p: int) -> torch.Tensor:
    """For each answer c, the share of its logit's variance over the (a, b) grid that a
    function of (a + b) mod p alone explains: the variance of the mean over each line
    a + b = s (mod p) divided by the variance over all pairs. ``logits`` is (p*p, p), pairs
    row-major; returns (p,), 1 where the logit depends on (a, b) only through a + b."""
    a, b = pair_grid(p)
    s = ((a + b) % p).flatten()  # (p*p,) the sum of each pair
    x = logits.double()
    means = torch.zeros(p, x.shape[1], dtype=torch.float64).index_add_(0, s, x) / p  # every s has p pairs
    explained = (means[s] - x.mean(0)).pow(2).mean(0)
    return explained / x.var(0, unbiased=False).clamp_min(1e-30)
