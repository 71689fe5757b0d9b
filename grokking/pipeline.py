"""The pipeline: train a run, then measure it; or load the committed one.

This is the top layer's orchestration (it calls training, the run store and the
analyses in turn); nothing below it trains and measures in one go. Paths are
always passed in: the book's chapters pass the committed runs' folder
(:func:`grokking.chapter.runs_folder`), the CLI its ``--out`` or ``RUN`` argument.

>>> run = load_or_train(committed=Path("runs/canonical"))   # the committed run, instantly
>>> run = load_or_train(committed=Path("runs/canonical"), retrain=True)  # ~15 min, then cached
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from .analysis.context import RunContext
from .analysis.progress import compute_progress, save_progress
from .config import Config
from .runs import claim, store
from .runs.load import Run, config_key, default_cache_dir, is_finished_run, load_run, require_run
from .training.loop import train


def write_progress(run_dir: str | Path, run: Run | None = None) -> dict[str, torch.Tensor]:
    """Compute the progress measures of a finished run from its checkpoints, with the final
    model's key frequencies, and store them in the run. Returns the measures.
    ``run`` is the run already loaded from ``run_dir``, when the caller has it."""
    run_dir = Path(run_dir)
    keys = RunContext(run or load_run(run_dir)).key_frequencies
    progress = compute_progress(run_dir, keys)
    save_progress(run_dir, progress)
    return progress


def train_and_measure(config: Config, run_dir: str | Path, *, device: str | torch.device = "cpu",
                      on_record: Callable[[dict], None] | None = None) -> Run:
    """Train ``config`` into ``run_dir`` (resuming what is there), then write its progress
    measures; the finished run. ``run_dir`` gets its ``config.json`` if it has none."""
    run_dir = Path(run_dir)
    with claim.claim(run_dir):  # one writer at a time (two chapters retraining at once)
        if is_finished_run(run_dir):  # the other writer finished it meanwhile
            return load_run(run_dir, device)
        state = claim.run_state(run_dir)
        if state not in (claim.EMPTY, claim.STARTED, claim.INTERRUPTED):
            raise store.RunError(f"{run_dir}: holds a {state} run, not one to continue; move it away")
        if state == claim.EMPTY:
            store.write_config(run_dir, config)
        result = train(config, run_dir, device=device, resume=True, on_record=on_record)
        if not result.finished:
            raise store.RunError(f"{run_dir}: training stopped at epoch {result.epoch}")
        run = load_run(run_dir, device)
        write_progress(run_dir, run)  # the progress measures the chapters plot, from the checkpoints
    return run


def load_or_train(
    config: Config | None = None,
    *,
    committed: str | Path,
    cache_dir: str | Path | None = None,
    device: str | torch.device = "cpu",
    on_record: Callable[[dict], None] | None = None,
    retrain: bool = False,
) -> Run:
    """The committed run at ``committed``; with ``retrain=True``, a run of ``config`` trained here.

    Without ``retrain`` nothing is trained: the committed run must exist and hold
    ``config`` (the default config when None), or a one-line :class:`store.RunError`
    says what is missing and how to make it. With ``retrain=True`` the run is trained
    once into ``cache_dir`` (default :func:`grokking.runs.load.default_cache_dir`),
    keyed by the config's content so a changed config never reuses stale weights; an
    interrupted cached run resumes where it stopped, and a finished one loads at once.
    """
    config = config or Config()
    if not retrain:
        run_dir = require_run(committed)
        if store.load_config(run_dir) != config:
            raise store.RunError(f"{run_dir / store.CONFIG}: holds another config than the one asked for; "
                                 "pass retrain=True to train that config")
        return load_run(run_dir, device)
    run_dir = Path(cache_dir or default_cache_dir()) / config_key(config)
    if is_finished_run(run_dir):
        return load_run(run_dir, device)
    return train_and_measure(config, run_dir, device=device, on_record=on_record)


def estimate_train_seconds(config: Config, sample_epochs: int = 100, device: str | torch.device = "cpu") -> float:
    """How long training ``config`` would take on this machine, in seconds: a short run of
    ``sample_epochs`` epochs through the same loop (metrics, checkpoints and all, into a
    temporary directory that is then deleted), timed from its first recorded epoch to its
    last so that start-up does not count, and scaled to ``config.epochs``. The progress
    measures at the end (a few seconds) are not counted."""
    sample = config.replace(epochs=sample_epochs)
    stamps: list[float] = []
    with tempfile.TemporaryDirectory(prefix="grokking-estimate-") as tmp:
        store.write_config(Path(tmp), sample)
        train(sample, Path(tmp), device=device, on_record=lambda row: stamps.append(time.perf_counter()))
    return (stamps[-1] - stamps[0]) / sample_epochs * config.epochs
