"""The attention of '=' over the (a, b) grid: indexing, and each head's share in the key frequencies."""

import math

import torch

from grokking.analysis import attention
from grokking.analysis.fourier import fourier_basis

P = 113


def grid_of(fn, p=P):
    """A (p, p) float32 grid with entry [a, b] = fn(a, b) on tensors of angles 2 pi / p * (a, b)."""
    a = torch.arange(p, dtype=torch.float64)[:, None].expand(p, p)
    b = torch.arange(p, dtype=torch.float64)[None, :].expand(p, p)
    return fn(a * 2 * math.pi / p, b * 2 * math.pi / p).float()


def test_attention_to_a_indexing():
    p, heads = 7, 3
    pattern = torch.zeros(p * p, heads, 3, 3)
    for a in range(p):
        for b in range(p):
            for h in range(heads):
                pattern[a * p + b, h, 2, 0] = 100 * h + 10 * a + b
                pattern[a * p + b, h, 2, 1] = -1  # attention to 'b' must not leak in
                pattern[a * p + b, h, 0, 0] = -2  # nor another query position
    att = attention.attention_to_a(pattern, p)
    assert att.shape == (heads, p, p)
    h, a, b = torch.meshgrid(torch.arange(heads), torch.arange(p), torch.arange(p), indexing="ij")
    assert torch.equal(att, (100 * h + 10 * a + b).float())


def test_head_key_shares_planted():
    p = 23
    # heads 0 and 1 vary only at frequencies 1 and 2 (the key ones), heads 2 and 3 at 3 and 4
    att = torch.stack([grid_of(lambda x, y, k=k: 0.5 + 0.3 * torch.cos(k * x), p) for k in (1, 2, 3, 4)])
    shares = attention.head_key_shares(att, fourier_basis(p), [1, 2])
    assert torch.allclose(shares, torch.tensor([1.0, 1.0, 0.0, 0.0]), atol=1e-5)
