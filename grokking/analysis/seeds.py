"""Runs that differ only in their seeds: does each learn the same algorithm?

The committed run plus the ``seeds`` sweep (``python -m grokking sweep seeds``) give
five runs of the default config. For each, :func:`seed_summary` measures what the
book measured on the committed run; :func:`cross_fit` asks whether one run's
logits are explained by *another* run's key frequencies (they are not: the form
cos(w(a + b - c)) is shared, the frequencies w are not).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..runs import store
from ..runs.load import is_finished_run, load_run
from ..training.loop import GROK_ACCURACY
from .context import RunContext
from .curves import first_epoch_reaching
from .logits import fit_cos_logits
from .neurons import NEURON_THRESHOLD, explained_share


def seed_run_dirs(folder: str | Path, first: str | Path | None = None) -> list[Path]:
    """``first`` (e.g. the committed run), then every finished run directory ``seed-*`` under
    ``folder``, by model seed."""
    folder = Path(folder)
    found = sorted((d for d in folder.glob("seed-*") if is_finished_run(d)),
                   key=lambda d: store.load_config(d).model_seed)
    if not found:
        raise store.RunError(f"{folder}: no finished seed runs (python -m grokking sweep seeds --out {folder})")
    return ([Path(first)] if first is not None else []) + found


def load_seed_contexts(folder: str | Path, first: str | Path | None = None) -> list[RunContext]:
    """A :class:`RunContext` for each of :func:`seed_run_dirs`."""
    return [RunContext(load_run(d)) for d in seed_run_dirs(folder, first)]


def neurons_explained(ctx: RunContext, threshold: float = NEURON_THRESHOLD) -> float:
    """Share of MLP neurons with more than ``threshold`` of their variance in one frequency."""
    return explained_share(ctx.neuron_frequency_shares, threshold)


def embedding_power(ctx: RunContext) -> torch.Tensor:
    """Share of W_E's Fourier power in each frequency k = 1 .. (p-1)/2 (sums to 1 over non-constant terms)."""
    power = ctx.embedding_frequency_norms.double().pow(2)
    return power / power.sum()


def seed_summary(ctx: RunContext) -> dict:
    """What the book measures on one run: seeds, key frequencies, grokking epoch, neurons, logits."""
    history = ctx.run.history
    return {
        "model_seed": ctx.config.model_seed,
        "split_seed": ctx.config.split_seed,
        "key_frequencies": ctx.key_frequencies,
        "grok_epoch": first_epoch_reaching(history, "test_acc", GROK_ACCURACY),
        "neurons_explained": neurons_explained(ctx),
        "logit_variance_explained": ctx.cos_fit["explained"],
        "final_test_loss": float(history["test_loss"][-1]),
        "final_test_acc": float(history["test_acc"][-1]),
    }


def cross_fit(contexts: list[RunContext]) -> torch.Tensor:
    """(n, n): share of run i's logit variance explained by cos terms at run j's key frequencies."""
    n = len(contexts)
    table = torch.empty(n, n, dtype=torch.float64)
    for i, logits_of in enumerate(contexts):
        for j, freqs_of in enumerate(contexts):
            fit = fit_cos_logits(logits_of.logits, freqs_of.key_frequencies, logits_of.p)
            table[i, j] = fit["explained"]
    return table


def run_label(ctx: RunContext) -> str:
    """'seed 3' for a seeds-sweep run, 'committed (999/598)' for the committed run."""
    c = ctx.config
    if c.model_seed == c.split_seed:
        return f"seed {c.model_seed}"
    return f"committed ({c.model_seed}/{c.split_seed})"
