"""The embedding W_E: its SVD and the spectrum of its principal components (tensors in and out).

Conventions as in :mod:`.fourier`: frequencies are 1-based, w_k = 2 pi k / p; the
'=' row of W_E is left out (it is not a number).
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import torch

from .fourier import KEY_FREQUENCY_SHARE


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


def principal_components(U: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
    """Principal components of W_E as functions of the input number: (p, r), column i = U[:, i] S[i]."""
    return U * S


def rfft_magnitude(signals: torch.Tensor) -> torch.Tensor:
    """|rfft| of each column of ``signals`` (p, n) with scipy: ((p+1)/2, n), row k = frequency k."""
    spectrum = scipy.fft.rfft(signals.detach().double().numpy(), axis=0)
    return torch.from_numpy(np.abs(spectrum)).float()


def fft_peak_frequencies(magnitude: torch.Tensor, share: float = KEY_FREQUENCY_SHARE) -> list[int]:
    """Frequencies whose power, summed over the columns, is at least ``share`` of the total.

    The same rule as :func:`grokking.analysis.fourier.key_frequencies`, applied to a scipy
    spectrum (row 0, the mean, is left out).
    """
    power = magnitude[1:].double().pow(2).sum(1)
    return [int(i) + 1 for i in (power / power.sum() >= share).nonzero().flatten()]


def top_component_spectrum(U: torch.Tensor, S: torch.Tensor, n: int | None = None) -> torch.Tensor:
    """|scipy rfft| of the first ``n`` principal components: ((p+1)/2, n), row k = frequency k.

    ``n`` defaults to the components before the largest singular-value drop
    (:func:`n_leading_components`)."""
    n = n or n_leading_components(S)
    return rfft_magnitude(principal_components(U, S)[:, :n])


def leading_spectrum(U: torch.Tensor, S: torch.Tensor, n: int | None = None) -> tuple[int, torch.Tensor, list[int]]:
    """(n, |rfft| of the first n components, the frequencies the key-frequency rule picks from it)."""
    n = n or n_leading_components(S)
    magnitude = top_component_spectrum(U, S, n)
    return n, magnitude, fft_peak_frequencies(magnitude)
