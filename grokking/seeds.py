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

from . import analysis, store
from .context import RunContext
from .runs import CANONICAL_RUN, REPO_ROOT, first_epoch_reaching, load_run

SEEDS_DIR = REPO_ROOT / "runs" / "seeds"
NEURON_THRESHOLD = 0.85  # a neuron is "explained" when one frequency holds > 85% of its variance


def seed_run_dirs(folder: str | Path = SEEDS_DIR, include_canonical: bool = True) -> list[Path]:
    """The committed run (first) and every finished run directory under ``folder``, by seed."""
    folder = Path(folder)
    found = sorted((d for d in folder.glob("seed-*") if (d / store.MANIFEST).exists()),
                   key=lambda d: store.load_config(d).model_seed)
    if not found:
        raise store.RunError(f"{folder}: no finished seed runs (python -m grokking sweep seeds)")
    return ([CANONICAL_RUN] if include_canonical else []) + found


def load_seed_contexts(folder: str | Path = SEEDS_DIR, include_canonical: bool = True) -> list[RunContext]:
    return [RunContext(load_run(d)) for d in seed_run_dirs(folder, include_canonical)]


def neurons_explained(ctx: RunContext, threshold: float = NEURON_THRESHOLD) -> float:
    """Share of MLP neurons with more than ``threshold`` of their variance in one frequency."""
    _, explained = analysis.neuron_clusters(ctx.neuron_frequency_shares, threshold)
    return float(explained.double().mean())


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
        "grok_epoch": first_epoch_reaching(history, "test_acc", 0.99),
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
            fit = analysis.fit_cos_logits(logits_of.logits, freqs_of.key_frequencies, logits_of.p)
            table[i, j] = fit["explained"]
    return table


def run_label(ctx: RunContext) -> str:
    """'seed 3' for a seeds-sweep run, 'committed (999/598)' for the committed run."""
    c = ctx.config
    if c.model_seed == c.split_seed:
        return f"seed {c.model_seed}"
    return f"committed ({c.model_seed}/{c.split_seed})"


def late_spike(history: dict[str, torch.Tensor], factor: float = 100.0) -> int | None:
    """A brief blow-up after training has settled: the epoch of the largest test loss after
    the loss first came within 10x of its settled value (the median over the last quarter of
    training), if that peak exceeds ``factor`` times the settled value; else None."""
    epochs, loss = history["epoch"], history["test_loss"]
    settled = float(loss[epochs >= epochs[-1] * 0.75].median())
    first = int((loss <= 10 * settled).nonzero()[0, 0])
    peak, where = loss[first:].max(0)
    return int(epochs[first + int(where)]) if float(peak) > factor * settled else None
