"""The Fourier basis on Z_p and transforms in it (pure functions, tensors in and out).

For an odd modulus p the real Fourier basis has p orthonormal vectors over the
inputs x = 0 .. p-1: the constant 1/sqrt(p), and for every frequency
k = 1 .. (p-1)/2 the pair sqrt(2/p) cos(2 pi k x / p), sqrt(2/p) sin(2 pi k x / p).
Row 0 is the constant, row 2k-1 is cos k and row 2k is sin k.
"""

from __future__ import annotations

import math

import torch


def n_frequencies(p: int) -> int:
    """Number of non-constant frequencies, (p - 1) / 2."""
    if p < 3 or p % 2 == 0:
        raise ValueError(f"the real Fourier basis here needs an odd p >= 3, got {p}")
    return (p - 1) // 2


def fourier_basis(p: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(p, p) orthonormal matrix whose rows are the basis vectors (const, cos 1, sin 1, ...)."""
    K = n_frequencies(p)
    x = torch.arange(p, dtype=torch.float64)
    k = torch.arange(1, K + 1, dtype=torch.float64)[:, None]
    angles = 2 * math.pi * k * x / p
    rows = torch.empty(p, p, dtype=torch.float64)
    rows[0] = 1 / math.sqrt(p)
    rows[1::2] = torch.cos(angles) * math.sqrt(2 / p)
    rows[2::2] = torch.sin(angles) * math.sqrt(2 / p)
    return rows.to(dtype)


def basis_labels(p: int) -> list[str]:
    labels = ["const"]
    for k in range(1, n_frequencies(p) + 1):
        labels += [f"cos {k}", f"sin {k}"]
    return labels


def frequency_rows(k: int) -> list[int]:
    """Rows of the basis that belong to frequency k (k = 0 is the constant)."""
    return [0] if k == 0 else [2 * k - 1, 2 * k]


def key_rows(freqs: list[int]) -> list[int]:
    """Basis rows of the constant and of cos/sin of each frequency in ``freqs``, in order."""
    rows = [0]
    for k in freqs:
        rows += frequency_rows(k)
    return rows


def to_fourier(x: torch.Tensor, basis: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Coefficients of ``x`` along ``dim`` (length p) in the basis; same shape as x."""
    moved = x.movedim(dim, 0)
    out = torch.tensordot(basis.to(x.dtype), moved, dims=([1], [0]))
    return out.movedim(0, dim)


def to_fourier_2d(grid: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """2D coefficients of ``grid`` shaped (p, p, ...): entry [i, j] pairs row i for a with row j for b."""
    return to_fourier(to_fourier(grid, basis, 0), basis, 1)


def frequency_norms(coeffs: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Norm of the coefficients of each frequency k = 1 .. (p-1)/2 along ``dim`` (cos and sin together).

    Every other dimension is summed over too: for W_E in the Fourier basis,
    ``frequency_norms(F @ W_E[:p])`` gives one norm per frequency. Returns shape ((p-1)/2,).
    """
    moved = coeffs.movedim(dim, 0)
    sq = moved.pow(2).reshape(moved.shape[0], -1).sum(1)
    return (sq[1::2] + sq[2::2]).sqrt()


def frequency_power_2d(coeffs2d: torch.Tensor) -> torch.Tensor:
    """Power of a 2D spectrum (p, p, ...) grouped by frequency pair: ((p+1)/2, (p+1)/2, ...).

    Entry [i, j] sums the squares of the coefficients whose a-row has frequency i
    and whose b-row has frequency j (0 = constant), e.g. [k, 0] is 'cos/sin of
    k a alone' and [k, k] the four products of cos/sin k a with cos/sin k b.
    """
    p = coeffs2d.shape[0]
    K = n_frequencies(p)
    sq = coeffs2d.pow(2)
    idx = torch.tensor([0] + [k for k in range(1, K + 1) for _ in (0, 1)])
    rows = torch.zeros((K + 1, *tuple(sq.shape[1:])), dtype=sq.dtype).index_add_(0, idx, sq)
    return torch.zeros((K + 1, K + 1, *tuple(sq.shape[2:])), dtype=sq.dtype).index_add_(1, idx, rows)


# A key frequency carries at least this share of the power (the book's definition).
KEY_FREQUENCY_SHARE = 0.05


def key_frequencies(norms: torch.Tensor, share: float = KEY_FREQUENCY_SHARE) -> list[int]:
    """Frequencies (1-based) whose squared norm is at least ``share`` of the total squared norm.

    ``norms`` is indexed by frequency - 1, as returned by :func:`frequency_norms`.
    The rule is the book's definition of a key frequency; returned in increasing order.
    """
    power = norms.double().pow(2)
    keep = (power / power.sum() >= share).nonzero().flatten()
    return [int(i) + 1 for i in keep]


def cos_sin(k: int, p: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """cos(w x) and sin(w x) for w = 2 pi k / p, as float32 tensors shaped like x."""
    angle = (2 * math.pi * k / p) * x.to(torch.float64)
    return torch.cos(angle).float(), torch.sin(angle).float()


def spectrum_2d(grid: torch.Tensor, basis: torch.Tensor, freqs: list[int]) -> dict:
    """A (p, p) grid's 2D Fourier spectrum, for the figures that show one.

    ``by_frequency``: sqrt of the power per (frequency over a, frequency over b) pair,
    ((p+1)/2, (p+1)/2), cos and sin pooled, 0 = constant; ``zoom``: |coefficient| of each
    pair of basis vectors among the constant and cos/sin of ``freqs``; ``zoom_labels``:
    their names. The (const, const) entry, the grid's mean, is NaN in both: it is not
    variation.
    """
    p = grid.shape[0]
    coeffs = to_fourier_2d(grid.double(), basis.double())
    by_freq = frequency_power_2d(coeffs).sqrt().float()
    by_freq[0, 0] = float("nan")
    rows = key_rows(freqs)
    small = coeffs.abs().float()[rows][:, rows]
    small[0, 0] = float("nan")
    return {"by_frequency": by_freq, "zoom": small, "zoom_labels": [basis_labels(p)[r] for r in rows]}
