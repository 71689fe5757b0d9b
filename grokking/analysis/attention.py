"""The attention of '=' over the (a, b) grid (tensors in and out)."""

from __future__ import annotations

import torch

from ..data import as_grid
from .neurons import share_in_frequencies


def attention_to_a(pattern: torch.Tensor, p: int) -> torch.Tensor:
    """Attention paid by '=' (query 2) to 'a' (key 0), per head: (n_heads, p, p) indexed [h, a, b].

    ``pattern`` is TransformerLens' (batch, head, query_pos, key_pos) over all pairs.
    """
    return as_grid(pattern[:, :, 2, 0], p).permute(2, 0, 1)


def head_key_shares(att: torch.Tensor, basis: torch.Tensor, freqs: list[int]) -> torch.Tensor:
    """(n_heads,) share of each head's attention-to-'a' variance in the key frequencies."""
    return share_in_frequencies(att.permute(1, 2, 0), basis, freqs)
