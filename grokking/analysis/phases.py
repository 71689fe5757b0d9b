"""The three phases of grokking, found by stated rules.

The paper splits training into *memorisation*, *circuit formation* and *clean-up*.
The book's boundaries come from the progress measures, which look inside the model
(:func:`progress_phase_boundaries`, :func:`run_phase_boundaries`; the rule is in
their docstring). For comparison, :func:`history_phase_boundaries` reads them off
the loss and accuracy curves alone, by this rule:

1. memorisation ends at the first recorded epoch where the training accuracy is 100%;
2. circuit formation ends and clean-up begins at the first recorded epoch after
   that where the test loss is below its chance value ln p (the loss of a uniform
   guess over the p answers);
3. clean-up ends at the first recorded epoch after that where the test loss is at
   most 10 times the training loss.

Each search starts at the previous boundary, so the boundaries are ordered even
though the test loss also starts out near ln p before memorisation drives it up.
"""

from __future__ import annotations

import math

import torch

from .curves import first_epoch_where, nearest_indices
from .progress import load_progress

PHASES = ("memorisation", "circuit formation", "clean-up")
BOUNDARY_KEYS = ("memorisation_end", "cleanup_start", "cleanup_end")
CLEANUP_RATIO = 10.0


class PhaseError(ValueError):
    """The history never meets one of the boundary conditions."""


def _first_epoch(history: dict[str, torch.Tensor], mask: torch.Tensor, start: int, what: str) -> int:
    epoch = first_epoch_where(history, mask, start)
    if epoch is None:
        raise PhaseError(f"the history never reaches {what} (after epoch {start})")
    return epoch


def phase_of(epoch: int, boundaries: dict[str, int]) -> str:
    """The phase an epoch lies in (``"grokked"`` after the last boundary); at a boundary,
    which phase ends there."""
    names = (*PHASES, "grokked")
    for name, edge in zip(names, boundaries.values(), strict=False):
        if epoch == edge:
            return f"{name} ends"
    for name, edge in zip(names, boundaries.values(), strict=False):
        if epoch < edge:
            return name
    return names[-1]


def history_phase_boundaries(history: dict[str, torch.Tensor], p: int) -> dict[str, int]:
    """The epochs that separate memorisation, circuit formation and clean-up.

    ``history`` holds 1-D tensors ``epoch``, ``train_acc``, ``train_loss`` and
    ``test_loss`` (as in :attr:`grokking.runs.load.Run.history`); ``p`` is the modulus,
    whose ``ln p`` is the chance-level loss. Returns ``{"memorisation_end": ...,
    "cleanup_start": ..., "cleanup_end": ...}`` (recorded epochs, in increasing
    order). Raises :class:`PhaseError` if a condition is never met.
    """
    memorised = _first_epoch(history, history["train_acc"] >= 1.0, 0, "100% training accuracy")
    below_chance = _first_epoch(
        history, history["test_loss"] < math.log(p), memorised, f"a test loss below ln {p}"
    )
    cleaned = _first_epoch(
        history,
        history["test_loss"] <= CLEANUP_RATIO * history["train_loss"],
        below_chance,
        f"a test loss within {CLEANUP_RATIO:g}x the training loss",
    )
    return dict(zip(BOUNDARY_KEYS, (memorised, below_chance, cleaned), strict=False))


# ---------------------------------------------------------------- from progress measures
GINI_RATE_SHARE = 0.5  # clean-up starts once Gini(W_L) rises at least this share of its fastest rate
GINI_PLATEAU_SHARE = 0.95  # clean-up ends once Gini(W_L) reaches this share of its final value


def progress_phase_boundaries(progress: dict[str, torch.Tensor]) -> dict[str, int]:
    """Phase boundaries read off the progress measures (checkpoint epochs, increasing).

    ``progress`` holds 1-D tensors ``epoch``, ``excluded_loss`` and ``gini_W_L``
    over the checkpoints (as returned by :func:`grokking.analysis.progress.load_progress`).
    With G = Gini(W_L) and the rate of G over the interval between consecutive
    checkpoints e_{i-1} < e_i defined as (G_i - G_{i-1}) / (e_i - e_{i-1}):

    1. ``memorisation_end``: the epoch of the smallest excluded loss. Until then
       the model fits its training set without the key frequencies; afterwards
       removing them hurts more and more, so the circuit has started to form.
    2. ``cleanup_start``: the start e_{i-1} of the first interval after
       ``memorisation_end`` over which G rises at least half as fast as over
       its fastest such interval: the sharp rise in sparsity that marks the
       pruning of everything but the key frequencies.
    3. ``cleanup_end``: the first epoch after ``cleanup_start`` at which G is at
       least 95% of its value at the last checkpoint (its plateau).

    Raises :class:`PhaseError` if a condition is never met.
    """
    epochs = progress["epoch"].long()
    excluded = progress["excluded_loss"].double()
    gini = progress["gini_W_L"].double()
    if len(epochs) < 3:
        raise PhaseError("need at least three checkpoints to find the phases")
    i_mem = int(excluded.argmin())
    rate = (gini[1:] - gini[:-1]) / (epochs[1:] - epochs[:-1]).double()  # rate[j]: interval j -> j+1
    after = torch.arange(len(rate)) >= i_mem
    if not after.any() or float(rate[after].max()) <= 0:
        raise PhaseError(f"Gini(W_L) never rises after epoch {int(epochs[i_mem])}")
    steep = after & (rate >= GINI_RATE_SHARE * rate[after].max())
    i_start = int(steep.nonzero()[0, 0])
    history = {"epoch": epochs}
    end = _first_epoch(history, gini >= GINI_PLATEAU_SHARE * gini[-1], int(epochs[i_start]) + 1,
                       f"{GINI_PLATEAU_SHARE:.0%} of the final Gini coefficient of W_L")
    return dict(zip(BOUNDARY_KEYS, (int(epochs[i_mem]), int(epochs[i_start]), end), strict=False))


def run_phase_boundaries(run) -> dict[str, int]:
    """:func:`progress_phase_boundaries` of a :class:`grokking.runs.load.Run` (reads its progress.safetensors)."""
    return progress_phase_boundaries(load_progress(run.path))


def snapshot_indices(progress: dict[str, torch.Tensor], boundaries: dict[str, int]) -> list[int]:
    """Ten checkpoint indices spread over the phases: the start, each boundary, points between
    them, 1.5x the end of clean-up and the last checkpoint (fewer when some coincide)."""
    m, s, e = boundaries.values()
    last = float(progress["epoch"][-1])
    targets = [0, m, m + (s - m) / 4, m + (s - m) / 2, m + 3 * (s - m) / 4, s, (s + e) / 2, e,
               min(last, 1.5 * e), last]
    return nearest_indices(progress["epoch"], targets)
