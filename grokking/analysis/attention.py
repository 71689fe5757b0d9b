"""The attention of '=' over the (a, b) grid (tensors in and out)."""

from __future__ import annotations

import torch

from ..data import as_grid
from .fourier import frequency_norms, to_fourier
from .neurons import share_in_frequencies


def attention_to_a(pattern: torch.Tensor, p: int) -> torch.Tensor:
    """Attention paid by '=' (query 2) to 'a' (key 0), per head: (n_heads, p, p) indexed [h, a, b].

    ``pattern`` is TransformerLens' (batch, head, query_pos, key_pos) over all pairs.
    """
    return as_grid(pattern[:, :, 2, 0], p).permute(2, 0, 1)


def head_key_shares(att: torch.Tensor, basis: torch.Tensor, freqs: list[int]) -> torch.Tensor:
    """(n_heads,) share of each head's attention-to-'a' variance in the key frequencies."""
    return share_in_frequencies(att.permute(1, 2, 0), basis, freqs)


def dominant_frequency(curve: torch.Tensor, basis: torch.Tensor) -> int:
    """The frequency k (1-based) with the largest norm in a function of one number, ``curve`` (p,).

    For a head's attention to 'a' averaged over b, the k to order a by
    (:func:`grokking.analysis.trig.by_angle`): at whole numbers a wave of a high frequency
    looks like noise, and in the order k a mod p it goes round once.
    """
    return int(frequency_norms(to_fourier(curve.float(), basis.float())).argmax()) + 1
