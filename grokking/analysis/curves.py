"""Reading a training history: first epochs that meet a condition, and late spikes.

A history maps names to 1-D tensors indexed alike, with ``history["epoch"]`` the
recorded epochs in increasing order (as in :attr:`grokking.runs.load.Run.history`).
"""

from __future__ import annotations

import torch


def first_epoch_where(history: dict[str, torch.Tensor], mask: torch.Tensor, start: int = 0) -> int | None:
    """The first recorded epoch at or after ``start`` where ``mask`` holds (None if never)."""
    epochs = history["epoch"]
    hits = (mask & (epochs >= start)).nonzero()
    return int(epochs[hits[0, 0]]) if len(hits) else None


def first_epoch_reaching(history: dict[str, torch.Tensor], key: str, threshold: float) -> int | None:
    """The first recorded epoch where ``history[key] >= threshold`` (None if never)."""
    return first_epoch_where(history, history[key] >= threshold)


def nearest_indices(epochs: torch.Tensor, targets: list[float]) -> list[int]:
    """Indices of the entries of ``epochs`` nearest to each target epoch (duplicates removed, sorted)."""
    out: list[int] = []
    for t in targets:
        i = int((epochs.double() - t).abs().argmin())
        if i not in out:
            out.append(i)
    return sorted(out)


SPIKE_FACTOR = 100.0  # a late spike: the test loss this many times its settled value


def settled_test_loss(history: dict[str, torch.Tensor]) -> float:
    """The value the test loss settles at: its median over the last quarter of training."""
    epochs, loss = history["epoch"], history["test_loss"]
    return float(loss[epochs >= epochs[-1] * 0.75].median())


def loss_spikes(history: dict[str, torch.Tensor], factor: float = SPIKE_FACTOR) -> list[dict]:
    """Every brief blow-up of the test loss after training has settled, in order.

    The settled value is :func:`settled_test_loss`; the search
    starts at the first recorded epoch where the loss is within 10x of it (so the start of
    training, before the loss first came down, is not a spike). A spike is a maximal run of
    consecutive recorded epochs whose test loss exceeds ``factor`` times the settled value.
    Each is a dict: ``start`` and ``end`` (its first and last recorded epoch
    above the line), ``peak_epoch``, ``peak_loss``, ``min_train_acc`` and ``min_test_acc``
    (the lowest accuracies from ``start`` to ``end``), and ``recovered`` (False when the
    run ends inside it).
    """
    epochs, loss = history["epoch"], history["test_loss"]
    settled = settled_test_loss(history)
    first = int((loss <= 10 * settled).nonzero()[0, 0])
    above = (loss > factor * settled).tolist()
    out, i, n = [], first, len(above)
    while i < n:
        if not above[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and above[j + 1]:
            j += 1
        span = slice(i, j + 1)
        peak = i + int(loss[span].argmax())
        out.append({"start": int(epochs[i]), "end": int(epochs[j]), "peak_epoch": int(epochs[peak]),
                    "peak_loss": float(loss[peak]), "min_train_acc": float(history["train_acc"][span].min()),
                    "min_test_acc": float(history["test_acc"][span].min()), "recovered": j + 1 < n})
        i = j + 1
    return out
