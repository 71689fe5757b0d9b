"""Sweeps: many runs of a grid, resumable, one result per finished run.

Two grids feed the book:

- ``seeds``: the default config under other initialisation and split seeds. Each
  run is kept whole (weights and history, the run format of :mod:`grokking.store`)
  so the seeds chapter can take every one apart like the committed run.
- ``phase``: train fraction x weight decay at a small prime, each run stopped early
  once test accuracy has stayed at or above 99% for ``patience`` epochs. Each run is
  kept as one small JSON table (:func:`result_row`); its weights stay in a
  git-ignored work folder.

A finished run is never trained again: a seeds run is finished when its run
directory verifies, a phase run when its result file exists. An interrupted run
(Ctrl-C, SIGTERM) saves its state and continues from there next time. Runs go
one at a time through the fast single-run step, or several at once in separate
processes (``jobs``), each with ``threads`` torch threads.
"""

from __future__ import annotations

import math
import multiprocessing
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from .analysis.curves import first_epoch_reaching
from .analysis.fourier import fourier_basis, frequency_norms, key_frequencies, to_fourier
from .config import Config
from .runs import store
from .training.cpu import prepare_process
from .training.loop import EARLY_STOP_PATIENCE, GROK_ACCURACY, EarlyStop, train
from .training.signals import ignore_in_worker

ACC_THRESHOLD = GROK_ACCURACY  # a result's "epoch_train_99" / "epoch_test_99" (kept as named in the tables)
PATIENCE = EARLY_STOP_PATIENCE
CURVE_EVERY = 100  # epochs between the points of a result's compact curves

# the book's phase diagram grid (see book/phase.md)
PHASE_P = 59
PHASE_FRACS = (0.1, 0.2, 0.3, 0.4, 0.6, 0.8)
PHASE_WEIGHT_DECAYS = (0.0, 0.1, 0.3, 1.0, 3.0)
PHASE_EPOCHS = 20_000
PHASE_SEED = 1
SEEDS = (1, 2, 3, 4)  # with the committed run (model seed 999, split seed 598): five seeds


class SweepError(Exception):
    """A sweep folder holds something that does not match the requested grid."""


@dataclass(frozen=True)
class SweepRun:
    name: str
    config: Config
    keep: str  # "run": the whole run directory; "row": a result table only
    early_stop: bool


# ------------------------------------------------------------------ grids
def seed_runs(seeds=SEEDS, epochs: int | None = None) -> list[SweepRun]:
    """The default config with ``model_seed = split_seed = s`` for each seed, trained in full."""
    base = Config() if epochs is None else Config(epochs=epochs)
    return [SweepRun(f"seed-{s}", base.replace(model_seed=s, split_seed=s), "run", False) for s in seeds]


def phase_runs(p: int = PHASE_P, fracs=PHASE_FRACS, weight_decays=PHASE_WEIGHT_DECAYS,
               epochs: int = PHASE_EPOCHS, seed: int = PHASE_SEED) -> list[SweepRun]:
    """Train fraction x weight decay at modulus ``p`` (one seed, shared by every cell)."""
    runs = []
    for frac in fracs:
        for wd in weight_decays:
            config = Config(p=p, frac_train=float(frac), weight_decay=float(wd), epochs=epochs,
                            model_seed=seed, split_seed=seed)
            runs.append(SweepRun(f"p{p}-frac{frac:.2f}-wd{wd:g}", config, "row", True))
    return runs


# ------------------------------------------------------------------ results
def result_row(config: Config, history: dict[str, list], state: dict[str, torch.Tensor]) -> dict:
    """The compact record of a finished phase run.

    ``epoch_train_99`` / ``epoch_test_99``: first recorded epoch at >= 99% accuracy
    (None if never); ``stopped_early``: whether the early-stop rule ended it before
    ``config.epochs``; ``key_frequencies`` of the final embedding (5% power rule);
    ``curve``: the history every :data:`CURVE_EVERY` epochs, plus the last row.
    """
    epochs = history["epoch"]
    as_tensors = {k: torch.tensor(v, dtype=torch.float64) for k, v in history.items()}
    W_E = state["embed.W_E"][: config.p].double()
    norms = frequency_norms(to_fourier(W_E, fourier_basis(config.p, torch.float64), 0))
    keep = [i for i, e in enumerate(epochs) if e % CURVE_EVERY == 0 or i == len(epochs) - 1]
    curve = {k: [history[k][i] for i in keep] for k in history}
    curve = {k: (v if k == "epoch" else [float(f"{x:.4g}") for x in v]) for k, v in curve.items()}
    return {
        "config": config.to_dict(),
        "epochs_trained": epochs[-1],
        "stopped_early": epochs[-1] < config.epochs,
        "epoch_train_99": first_epoch_reaching(as_tensors, "train_acc", ACC_THRESHOLD),
        "epoch_test_99": first_epoch_reaching(as_tensors, "test_acc", ACC_THRESHOLD),
        "final_train_acc": history["train_acc"][-1],
        "final_test_acc": history["test_acc"][-1],
        "final_train_loss": history["train_loss"][-1],
        "final_test_loss": history["test_loss"][-1],
        "key_frequencies": key_frequencies(norms),
        "curve": curve,
    }


def results_dir(out: Path) -> Path:
    return Path(out) / "results"


def work_dir(out: Path) -> Path:
    return Path(out) / "work"


def load_results(out: str | Path) -> list[dict]:
    """Every result table under ``out/results`` (sorted by train fraction, then weight decay)."""
    folder = results_dir(Path(out))
    if not folder.is_dir():
        raise SweepError(f"{folder}: no sweep results here")
    rows = [store.load_json(path) for path in sorted(folder.glob("*.json"))]
    return sorted(rows, key=lambda r: (r["config"]["frac_train"], r["config"]["weight_decay"]))


def is_finished(run: SweepRun, out: Path) -> bool:
    if run.keep == "row":
        return (results_dir(out) / f"{run.name}.json").exists()
    run_dir = Path(out) / run.name
    if not (run_dir / store.MANIFEST).exists():
        return False
    if store.load_config(run_dir) != run.config:
        raise SweepError(f"{run_dir}: holds a run of a different config; move it away or choose another --out")
    return True


# ------------------------------------------------------------------ running
def _prepare_dir(run_dir: Path, config: Config) -> bool:
    """Make ``run_dir`` hold ``config``; True when an interrupted state can be resumed."""
    config_path = run_dir / store.CONFIG
    if config_path.exists():
        if store.load_config(run_dir) == config:
            return (run_dir / store.CHECKPOINTS / store.RESUME).exists()
        shutil.rmtree(run_dir)  # a work folder of an older grid: nothing to keep
    store.write_config(run_dir, config)
    return False


def train_one(run: SweepRun, out: Path, device: str = "cpu",
              should_stop: Callable[[], bool] | None = None) -> bool:
    """Train one run of a sweep to its end (or until ``should_stop``); True when finished."""
    out = Path(out)
    run_dir = out / run.name if run.keep == "run" else work_dir(out) / run.name
    resume = _prepare_dir(run_dir, run.config)
    result = train(run.config, run_dir, device=device, resume=resume, should_stop=should_stop,
                   keep_checkpoints=False,
                   early_stop=EarlyStop(ACC_THRESHOLD, PATIENCE) if run.early_stop else None)
    if not result.finished:
        return False
    if run.keep == "row":
        _, state, history = store.read_run(run_dir)
        store.atomic_write_json(results_dir(out) / f"{run.name}.json", result_row(run.config, history, state))
    return True


def _worker_init(threads: int, stop_event) -> None:
    ignore_in_worker()  # the parent decides; see run_sweep
    torch.set_num_threads(threads)
    prepare_process()
    global _STOP  # noqa: PLW0603 - a pool worker's one piece of state, set by its initializer
    _STOP = stop_event


_STOP = None


def _worker(args) -> tuple[str, bool]:
    run, out, device = args
    return run.name, train_one(run, out, device, should_stop=_STOP.is_set)


def run_sweep(runs: list[SweepRun], out: str | Path, *, jobs: int = 1, threads: int | None = None,
              device: str = "cpu", should_stop: Callable[[], bool] | None = None,
              on_done: Callable[[str, bool], None] | None = None) -> dict[str, list[str]]:
    """Train every unfinished run of ``runs`` into ``out``.

    With ``jobs > 1`` the runs are spread over that many worker processes. Returns
    the names of the runs ``skipped`` (already finished), ``finished`` now and
    ``interrupted``.
    """
    out = Path(out)
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        raise SweepError("run names in a sweep must be unique")
    summary = {"skipped": [], "finished": [], "interrupted": []}
    todo = []
    for run in runs:
        if is_finished(run, out):
            summary["skipped"].append(run.name)
        else:
            todo.append(run)

    def record(name: str, finished: bool) -> None:
        summary["finished" if finished else "interrupted"].append(name)
        if on_done is not None:
            on_done(name, finished)

    if jobs <= 1 or len(todo) <= 1:
        if threads is not None:
            torch.set_num_threads(threads)
        for run in todo:
            if should_stop is not None and should_stop():
                record(run.name, False)
                continue
            record(run.name, train_one(run, out, device, should_stop))
        return summary

    ctx = multiprocessing.get_context("spawn")
    stop_event = ctx.Event()
    per_job = threads if threads is not None else max(1, torch.get_num_threads() // jobs)
    # longest first: the grid's slowest runs (largest training sets) start early
    todo.sort(key=lambda r: -r.config.n_train * r.config.epochs)
    with ctx.Pool(jobs, initializer=_worker_init, initargs=(per_job, stop_event)) as pool:
        pending = pool.imap_unordered(_worker, [(r, out, device) for r in todo])
        while True:
            try:
                name, finished = pending.next(timeout=0.5)
            except multiprocessing.TimeoutError:
                if should_stop is not None and should_stop():
                    stop_event.set()
                continue
            except StopIteration:
                break
            record(name, finished)
        # Let the workers exit on their own: leaving the block would terminate() them with
        # SIGTERM, which they ignore (the parent decides when to stop), and join() would wait.
        pool.close()
        pool.join()
    return summary


def parse_floats(text: str, what: str) -> tuple[float, ...]:
    """'0.1,0.3' -> (0.1, 0.3), for the command line."""
    try:
        values = tuple(float(x) for x in re.split(r"[,\s]+", text.strip()) if x)
    except ValueError:
        raise SweepError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if not values or any(not math.isfinite(v) for v in values):
        raise SweepError(f"{what} must be comma-separated numbers, got {text!r}")
    return values
