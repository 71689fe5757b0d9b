"""Interpretability measures of the trained model (pure functions, tensors in and out).

Conventions: ``p`` residues; per-pair tensors are in row-major (a, b) order as
produced by :func:`grokking.data.all_pairs`, so ``x.view(p, p, ...)`` is a grid
indexed [a, b]. Frequencies are 1-based (k = 1 .. (p-1)/2), w_k = 2 pi k / p.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft
import torch

from .fourier import cos_sin, frequency_power_2d, n_frequencies, to_fourier_2d

# Hook names in TransformerLens for the activations the book reads.
PATTERN_HOOK = "blocks.0.attn.hook_pattern"  # (batch, head, query_pos, key_pos)
NEURON_HOOK = "blocks.0.mlp.hook_post"  # (batch, pos, d_mlp), after the ReLU
NEURON_PRE_HOOK = "blocks.0.mlp.hook_pre"  # before the ReLU


# ------------------------------------------------------------------ embedding
def embedding_svd(W_E: torch.Tensor, p: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """SVD of the number rows of W_E (the '=' row excluded): ``(U, S, Vh)``.

    ``U[:, i] * S[i]`` is principal component i as a function of the input number.
    """
    U, S, Vh = torch.linalg.svd(W_E[:p].detach().double(), full_matrices=False)
    return U.float(), S.float(), Vh.float()


def n_leading_components(S: torch.Tensor) -> int:
    """How many singular values come before the largest drop (ratio S_i / S_{i+1}).

    Looked for among the first half of the spectrum; for a grokked embedding it
    counts the two components (cos and sin) of every key frequency.
    """
    S = S.double()
    half = max(1, len(S) // 2)
    ratios = S[:half] / S[1 : half + 1].clamp_min(1e-30)
    return int(ratios.argmax()) + 1


def rfft_magnitude(signals: torch.Tensor) -> torch.Tensor:
    """|rfft| of each column of ``signals`` (p, n) with scipy: ((p+1)/2, n), row k = frequency k."""
    spectrum = scipy.fft.rfft(signals.detach().double().numpy(), axis=0)
    return torch.from_numpy(np.abs(spectrum)).float()


def fft_peak_frequencies(magnitude: torch.Tensor, share: float = 0.05) -> list[int]:
    """Frequencies whose power, summed over the columns, is at least ``share`` of the total.

    The same rule as :func:`grokking.fourier.key_frequencies`, applied to a scipy
    spectrum (row 0, the mean, is left out).
    """
    power = magnitude[1:].double().pow(2).sum(1)
    return [int(i) + 1 for i in (power / power.sum() >= share).nonzero().flatten()]


# ------------------------------------------------------------------ activations
def pairs_grid(values: torch.Tensor, p: int) -> torch.Tensor:
    """Per-pair values (p*p, ...) as a grid (p, p, ...) indexed [a, b]."""
    return values.reshape(p, p, *values.shape[1:])


def attention_to_a(pattern: torch.Tensor, p: int) -> torch.Tensor:
    """Attention paid by '=' (query 2) to 'a' (key 0), per head: (n_heads, p, p) indexed [h, a, b]."""
    return pairs_grid(pattern[:, :, 2, 0], p).permute(2, 0, 1)


# ------------------------------------------------------------------ 2D Fourier
def frequency_shares_2d(grid: torch.Tensor, basis: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For a (p, p, ...) grid: power by frequency pair and the total non-constant power.

    Returns ``(power, total)`` with ``power`` shaped ((p+1)/2, (p+1)/2, ...) as in
    :func:`grokking.fourier.frequency_power_2d` and ``total`` the power of
    everything but the constant term (the variance of the grid times p^2).
    Everything runs in float32 (a neuron grid is p^2 x d_mlp values); the total
    is accumulated in float64.
    """
    power = frequency_power_2d(to_fourier_2d(grid.float(), basis.float()))
    total = power.sum(dim=(0, 1), dtype=torch.float64) - power[0, 0]
    return power, total


def single_frequency_shares(grid: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Share of each slice's variance explained by one frequency k: (..., K).

    For frequency k the terms are cos/sin(k a), cos/sin(k b) and their four
    products: power [k, 0] + [0, k] + [k, k]. The rest (constants aside) is
    the unexplained variance.
    """
    power, total = frequency_shares_2d(grid, basis)
    K = power.shape[0] - 1
    k = torch.arange(1, K + 1)
    explained = power[k, 0] + power[0, k] + power[k, k]  # (K, ...)
    return (explained / total.clamp_min(1e-30).float()).movedim(0, -1)


def share_in_frequencies(grid: torch.Tensor, basis: torch.Tensor, freqs: list[int]) -> torch.Tensor:
    """Share of the variance in components whose a- and b-frequencies are in {0} + ``freqs``."""
    power, total = frequency_shares_2d(grid, basis)
    keep = torch.tensor([0] + list(freqs))
    inside = power[keep][:, keep].sum(dim=(0, 1), dtype=torch.float64) - power[0, 0]
    return (inside / total.clamp_min(1e-30)).float()


def neuron_clusters(shares: torch.Tensor, threshold: float = 0.85) -> tuple[torch.Tensor, torch.Tensor]:
    """Each neuron's dominant frequency (1-based) and whether it explains > ``threshold``.

    ``shares`` is (d_mlp, K) from :func:`single_frequency_shares`.
    """
    best, idx = shares.max(dim=1)
    return idx + 1, best > threshold


def cluster_sizes(dominant: torch.Tensor, explained: torch.Tensor) -> dict[int, int]:
    """Number of well-explained neurons per dominant frequency, largest first."""
    freqs, counts = dominant[explained].unique(return_counts=True)
    order = counts.argsort(descending=True)
    return {int(freqs[i]): int(counts[i]) for i in order}


# ------------------------------------------------------------------ logits
def cross_entropy_chunked(logits: torch.Tensor, labels: torch.Tensor, chunk: int = 2048) -> float:
    """Mean cross-entropy in float64, a chunk of rows at a time (never a p^3 float64 tensor)."""
    total = 0.0
    for start in range(0, len(labels), chunk):
        block = logits[start : start + chunk].double().log_softmax(-1)
        total -= float(block.gather(-1, labels[start : start + chunk, None]).sum())
    return total / len(labels)


def cos_logit_terms(k: int, p: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Factors of cos(w (a + b - c)) = cos(w(a+b)) cos(wc) + sin(w(a+b)) sin(wc).

    Returns ``(left, right)``: left (p*p, 2) over pairs, right (2, p) over outputs c,
    so that ``left @ right`` is the (p*p, p) table of cos(w_k (a + b - c)).
    """
    a = torch.arange(p).repeat_interleave(p)
    b = torch.arange(p).repeat(p)
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


def unembed_product(model) -> torch.Tensor:
    """W_L = W_out W_U: how each neuron writes to each output logit, (d_mlp, p)."""
    return (model.W_out[0] @ model.W_U).detach()


def angle_of(k: int, p: int, x: int) -> float:
    """The angle w_k x in radians, reduced to [0, 2 pi)."""
    return (2 * math.pi * k * x / p) % (2 * math.pi)


# ------------------------------------------------------------------ ablation
def neurons_of_frequency(dominant: torch.Tensor, explained: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the well-explained neurons whose dominant frequency is ``k``.

    ``dominant`` and ``explained`` are the outputs of :func:`neuron_clusters`.
    """
    return ((dominant == k) & explained).nonzero().flatten()


def neuron_ablation_hook(neurons: torch.Tensor, replacement: torch.Tensor | None = None):
    """A TransformerLens hook function for :data:`NEURON_HOOK` that overwrites some neurons at '='.

    ``neurons`` are indices into d_mlp. With ``replacement`` None they are set to
    zero; with a (d_mlp,) tensor (e.g. each neuron's mean activation) neuron n is
    set to ``replacement[n]`` for every input. Only the last position is touched:
    in a one-layer model it is the only one whose MLP output reaches the logits.
    """
    neurons = torch.as_tensor(neurons, dtype=torch.long)

    def hook(activation: torch.Tensor, hook=None) -> torch.Tensor:
        # activation: (batch, position, d_mlp)
        if replacement is None:
            activation[:, -1, neurons] = 0.0
        else:
            activation[:, -1, neurons] = replacement[neurons].to(activation.dtype)
        return activation

    return hook


def logits_with_neurons_ablated(model, tokens: torch.Tensor, neurons: torch.Tensor,
                                replacement: torch.Tensor | None = None) -> torch.Tensor:
    """Last-position logits (N, d_vocab_out) with ``neurons`` overwritten (:func:`neuron_ablation_hook`)."""
    hook = neuron_ablation_hook(neurons, replacement)
    with torch.no_grad():
        logits = model.run_with_hooks(tokens, fwd_hooks=[(NEURON_HOOK, hook)])
    return logits[:, -1].detach()


def loss_and_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy (float64, chunked) and the share of rows whose top logit is the label."""
    return cross_entropy_chunked(logits, labels), float((logits.argmax(-1) == labels).double().mean())


SCORES_HOOK = "blocks.0.attn.hook_attn_scores"  # (batch, head, query_pos, key_pos), before the softmax


def attention_scores_to_a(model, p: int) -> torch.Tensor:
    """Pre-softmax score of '=' (query 2) for the 'a' token (key 0), per number a: (p, n_heads).

    The score for key 0 depends on a alone (the query is always '=' and the key is
    a's embedding plus position 0), so p prompts [a, 0, =] give all of it.
    """
    a = torch.arange(p)
    tokens = torch.stack([a, torch.zeros_like(a), torch.full_like(a, p)], dim=1)
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, names_filter=SCORES_HOOK)
    return cache[SCORES_HOOK][:, :, 2, 0].detach()

__all__ = [name for name in dir() if not name.startswith("_") and name not in {"math", "np", "scipy", "torch"}]
