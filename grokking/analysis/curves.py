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


def late_spike(history: dict[str, torch.Tensor], factor: float = SPIKE_FACTOR) -> int | None:
    """A brief blow-up after training has settled: the epoch of the largest test loss after
    the loss first came within 10x of its settled value (the median over the last quarter of
    training), if that peak exceeds ``factor`` times the settled value; else None."""
    epochs, loss = history["epoch"], history["test_loss"]
    settled = float(loss[epochs >= epochs[-1] * 0.75].median())
    first = int((loss <= 10 * settled).nonzero()[0, 0])
    peak, where = loss[first:].max(0)
    return int(epochs[first + int(where)]) if float(peak) > factor * settled else None
