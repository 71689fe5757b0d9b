"""Ablating Fourier components of the final model's logits (Nanda et al. 2023, section 5).

The logits of every pair, L[(a, b), c], are split along functions of the pair:
for a frequency k, the two directions cos(w_k (a + b)) and sin(w_k (a + b)) over
the p^2 pairs (w_k = 2 pi k / p). Removing a frequency subtracts the logits'
projection onto its two directions (for every output c at once); keeping only
some frequencies projects onto their directions plus the constant. Both are
:func:`grokking.analysis.progress.excluded_logits` and :func:`grokking.analysis.progress.restricted_logits`.
"""

from __future__ import annotations

import torch

from .logits import cross_entropy_chunked, loss_and_accuracy
from .progress import excluded_logits, restricted_logits


def ablate_frequencies(logits: torch.Tensor, p: int, freqs: list[int]) -> torch.Tensor:
    """The logits (p*p, p) with cos/sin(w_k (a+b)) removed for every k in ``freqs`` (none: unchanged)."""
    return excluded_logits(logits, p, list(freqs)) if len(freqs) else logits.clone()


def _losses(logits: torch.Tensor, labels: torch.Tensor, test_idx: torch.Tensor) -> dict[str, float]:
    return {
        "all pairs": cross_entropy_chunked(logits, labels),
        "test pairs": cross_entropy_chunked(logits[test_idx], labels[test_idx]),
    }


def frequency_ablation_losses(logits: torch.Tensor, labels: torch.Tensor, test_idx: torch.Tensor,
                              p: int, key_freqs: list[int],
                              control_freqs: list[int] = ()) -> dict[str, dict[str, float]]:
    """Cross-entropy of the logits (p*p, p) after ablating Fourier components of a + b.

    Rows, in order (each a dict with the mean loss over ``"all pairs"`` and ``"test pairs"``):

    - ``"model"``: the logits unchanged;
    - ``"without k=K"`` for each key frequency K: cos/sin(w_K (a+b)) removed;
    - ``"without all key frequencies"``: all removed at once (the excluded logits);
    - ``"without k=K (control)"`` for each frequency K in ``control_freqs``;
    - ``"key frequencies only"``: only the constant and the key frequencies kept (the restricted logits).

    ``labels`` are the answers of the p*p pairs (row-major), ``test_idx`` the test
    pairs' row indices.
    """
    rows = {"model": _losses(logits, labels, test_idx)}
    for k in key_freqs:
        rows[f"without k={k}"] = _losses(ablate_frequencies(logits, p, [k]), labels, test_idx)
    rows["without all key frequencies"] = _losses(ablate_frequencies(logits, p, key_freqs), labels, test_idx)
    for k in control_freqs:
        rows[f"without k={k} (control)"] = _losses(ablate_frequencies(logits, p, [k]), labels, test_idx)
    rows["key frequencies only"] = _losses(restricted_logits(logits, p, list(key_freqs)), labels, test_idx)
    return rows


def strongest_other_frequency(norms: torch.Tensor, key_freqs: list[int]) -> int:
    """The frequency (1-based) with the largest norm among those not in ``key_freqs``."""
    masked = norms.clone().double()
    masked[[k - 1 for k in key_freqs]] = -1.0
    return int(masked.argmax()) + 1


def frequency_ablation_table(logits: torch.Tensor, data, p: int, key_freqs: list[int],
                             embedding_norms: torch.Tensor) -> dict[str, dict[str, float]]:
    """:func:`frequency_ablation_losses` with one control frequency: the strongest non-key
    frequency of the embedding (``embedding_norms``, indexed by frequency - 1)."""
    control = strongest_other_frequency(embedding_norms, key_freqs)
    return frequency_ablation_losses(logits, data.labels, data.test_idx, p, key_freqs, [control])


def _scores(logits: torch.Tensor, labels: torch.Tensor, split: dict[str, torch.Tensor]) -> dict[str, float]:
    out = {}
    for name, idx in split.items():
        loss, acc = loss_and_accuracy(logits[idx], labels[idx])
        out[f"{name} loss"], out[f"{name} accuracy"] = loss, acc
    return out


def part_table(parts: dict[str, torch.Tensor], labels: torch.Tensor, train_idx: torch.Tensor,
               test_idx: torch.Tensor) -> dict[str, dict[str, float]]:
    """Loss and accuracy on the training and test pairs of the logits built from some of
    ``parts`` (name: (N, p) tensors that add up to the model's logits, e.g.
    :func:`grokking.analysis.hooks.logit_parts`).

    Rows, each a dict of ``"train loss"``, ``"train accuracy"``, ``"test loss"``,
    ``"test accuracy"``:

    - ``"whole model"``: every part;
    - ``"only X"`` for each part X: that part alone;
    - ``"without X"`` for each part X: every part, with X mean-ablated (replaced by its mean
      over all N rows, so what it adds to every pair alike stays).
    """
    split = {"train": train_idx, "test": test_idx}
    whole = sum(parts.values())
    rows = {"whole model": _scores(whole, labels, split)}
    for name, part in parts.items():
        rows[f"only {name}"] = _scores(part, labels, split)
    for name, part in parts.items():
        rows[f"without {name}"] = _scores(whole - part + part.mean(0), labels, split)
    return rows
