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
directory has a manifest, a phase run when its result file exists; either must hold
the requested config, or the sweep stops with an error naming the file and the
differing fields. An interrupted run (Ctrl-C, SIGTERM) saves its state and continues
from there next time. Runs go one at a time through the fast single-run step, or
several at once in separate processes (``jobs``), each with ``threads`` torch threads.

Each run is trained holding :class:`~grokking.runs.lock.RunLock` on its folder (the
work folder of a phase run, the run directory of a seeds run): a run another process
is training is left alone and reported as ``locked``, so two sweeps on one folder
share out its runs and never train one twice at once. A worker process stops like
an interrupted run, its state saved, when its parent is gone, however the parent went
(``kill -9`` included), and then exits.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from .analysis.beyond import collapsed_fraction
from .analysis.context import RunContext
from .analysis.curves import first_epoch_reaching
from .analysis.fourier import fourier_basis, frequency_norms, key_frequencies, to_fourier
from .analysis.progress import MEASURES, compute_progress, save_progress
from .config import Config
from .runs import store
from .runs.claim import empty_but_lock
from .runs.load import load_run
from .runs.lock import RunLock, RunLocked
from .training import fast
from .training.cpu import prepare_process
from .training.loop import EARLY_STOP_PATIENCE, GROK_ACCURACY, EarlyStop, train
from .training.signals import ParentWatch, ignore_in_worker

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

# Bounds of ``jobs`` and ``threads`` (see check_jobs): fixed, not the machine's core count,
# so that a command is valid or not wherever it runs.
MAX_JOBS = 64
MAX_THREADS = 256

# What became of a run (the keys of run_sweep's summary)
SKIPPED, FINISHED, INTERRUPTED, LOCKED = "skipped", "finished", "interrupted", "locked"
ORPHAN_GRACE_S = 60.0  # how long a worker whose parent is gone waits for its run to save, at most
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a plain folder name: no separators, no ".."


class SweepError(Exception):
    """A sweep folder holds something that does not match the requested grid."""


@dataclass(frozen=True)
class SweepRun:
    name: str
    config: Config
    keep: str  # "run": the whole run directory; "row": a result table only
    early_stop: bool
    # the experiments' additions (grokking.experiments): the run directory whose final
    # weights this run starts from (None: its own initialisation), and whether its
    # progress measures are taken every checkpoint and written with its result table
    start: Path | None = None
    measure: bool = False
    # the folder this run belongs to, when not the sweep's (one command training several
    # experiments at once: each run into its own experiment's folder)
    out: Path | None = None


# ------------------------------------------------------------------ grids
def _check_distinct(values, what: str) -> None:
    """A grid lists each value once (two equal values would be one run trained twice)."""
    seen = []
    for value in values:
        if value in seen:
            raise SweepError(f"the grid lists {what} {value!r} twice")
        seen.append(value)


def seed_runs(seeds=SEEDS, epochs: int | None = None) -> list[SweepRun]:
    """The default config with ``model_seed = split_seed = s`` for each seed, trained in full."""
    _check_distinct(seeds, "seed")
    base = Config() if epochs is None else Config(epochs=epochs)
    return [SweepRun(f"seed-{s}", base.replace(model_seed=s, split_seed=s), "run", False) for s in seeds]


def exact_text(value: float, fmt: str) -> str:
    """``value`` written with ``fmt`` when that reads back as ``value``, else its shortest exact form.

    The book's grid values keep their short names (0.3 -> "0.30" with ".2f"); any other
    value is written so that it reads back exactly (0.301 -> "0.301"), so two different
    values never share a name.
    """
    text = format(value, fmt)
    return text if float(text) == value else repr(value)


def phase_name(p: int, frac: float, weight_decay: float) -> str:
    """The name of a phase grid cell, e.g. ``p59-frac0.30-wd1``; it reads back as the cell's values."""
    return f"p{p}-frac{exact_text(frac, '.2f')}-wd{exact_text(weight_decay, 'g')}"


def phase_runs(p: int = PHASE_P, fracs=PHASE_FRACS, weight_decays=PHASE_WEIGHT_DECAYS,
               epochs: int = PHASE_EPOCHS, seed: int = PHASE_SEED) -> list[SweepRun]:
    """Train fraction x weight decay at modulus ``p`` (one seed, shared by every cell)."""
    fracs = [float(f) + 0.0 for f in fracs]  # + 0.0: -0.0 becomes 0.0 (one value, one name)
    weight_decays = [float(wd) + 0.0 for wd in weight_decays]
    _check_distinct(fracs, "train fraction")
    _check_distinct(weight_decays, "weight decay")
    runs = []
    for frac in fracs:
        for wd in weight_decays:
            config = Config(p=p, frac_train=frac, weight_decay=wd, epochs=epochs,
                            model_seed=seed, split_seed=seed)
            runs.append(SweepRun(phase_name(p, frac, wd), config, "row", True))
    return runs


def _check_count(what: str, value, top: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top:
        raise SweepError(f"{what} must be a whole number from 1 to {top}, got {value!r}")


def check_jobs(jobs: int, threads: int | None = None) -> None:
    """``jobs`` must lie in 1..MAX_JOBS and ``threads`` (None: the cores shared out) in 1..MAX_THREADS."""
    _check_count("--jobs", jobs, MAX_JOBS)
    if threads is not None:
        _check_count("--threads", threads, MAX_THREADS)


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


def result_path(run: SweepRun, out: Path) -> Path:
    """Where a phase run's result table goes."""
    return results_dir(out) / f"{run.name}.json"


def run_folder(run: SweepRun, out: Path) -> Path:
    """The folder a run is trained in (and locked): its run directory, or its work folder."""
    return Path(out) / run.name if run.keep == "run" else work_dir(out) / run.name


def load_results(out: str | Path) -> list[dict]:
    """Every result table under ``out/results`` (sorted by train fraction, then weight decay)."""
    folder = results_dir(Path(out))
    if not folder.is_dir():
        raise SweepError(f"{folder}: no sweep results here")
    rows = [store.load_json(path) for path in sorted(folder.glob("*.json"))]
    return sorted(rows, key=lambda r: (r["config"]["frac_train"], r["config"]["weight_decay"]))


def config_mismatch(path: Path, held: Config, asked: Config) -> SweepError:
    """The one-line error for ``path`` holding ``held`` where the sweep asks for ``asked``."""
    held_d, asked_d = dataclasses.asdict(held), dataclasses.asdict(asked)
    keys = [k for k in asked_d if held_d[k] != asked_d[k]]
    holds = ", ".join(f"{k}={held_d[k]!r}" for k in keys)
    wants = ", ".join(f"{k}={asked_d[k]!r}" for k in keys)
    return SweepError(f"{path} holds {holds}, asked for {wants}; move it away or choose another --out")


def _row_config(path: Path) -> Config:
    row = store.load_json(path)
    try:
        return Config.from_dict(row.get("config") if isinstance(row, dict) else None)
    except (ValueError, TypeError, ArithmeticError) as exc:  # ConfigError is a ValueError
        raise SweepError(f"{path}: not a result table of a sweep ({exc})") from None


def is_finished(run: SweepRun, out: Path) -> bool:
    """Whether ``run`` is done in ``out``: its result table (phase, and every measured run)
    or manifest (seeds) exists.

    Raises :class:`SweepError` when that file holds another config than ``run.config``.
    """
    out = Path(run.out or out)
    if run.keep == "row" or run.measure:
        path, held = result_path(run, out), None
        if path.exists():
            held = _row_config(path)
    else:
        path, held = Path(out) / run.name, None
        if (path / store.MANIFEST).exists():
            held = store.load_config(path)
    if held is not None and held != run.config:
        raise config_mismatch(path, held, run.config)
    return held is not None


# ------------------------------------------------------------------ running
def _empty_work_folder(run_dir: Path, out: Path) -> None:
    """Delete what a phase run's work folder holds, but its lock file (held by this process).

    Only a real folder directly inside a real ``out/work`` is emptied; a symlink on the way is
    refused, and symlinks inside are removed, never followed.
    """
    work = work_dir(out)
    if run_dir.parent != work or work.is_symlink() or run_dir.is_symlink() or not run_dir.is_dir():
        raise SweepError(f"{run_dir}: not a folder of the sweep's own {work}; refusing to delete it")
    empty_but_lock(run_dir)


def _prepare_dir(run: SweepRun, run_dir: Path, out: Path) -> bool:
    """Make ``run_dir`` hold ``run.config``; True when an interrupted state can be resumed.

    A work folder (phase run) of another config is emptied first: its weights are scratch.
    A seeds run directory of another config is an error: it is never deleted.
    """
    if (run_dir / store.CONFIG).exists():
        try:
            held = store.load_config(run_dir)
        except store.RunError:
            if run.keep == "run":
                raise
            held = None
        if held == run.config:
            return (run_dir / store.CHECKPOINTS / store.RESUME).exists()
        if run.keep == "run":
            raise config_mismatch(run_dir, held, run.config)
        _empty_work_folder(run_dir, out)
    store.write_config(run_dir, run.config)
    return False


def _make_folder(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise SweepError(f"{run_dir}: exists and is not a directory") from None


def train_one(run: SweepRun, out: Path, device: str = "cpu",
              should_stop: Callable[[], bool] | None = None) -> str:
    """Train one run of a sweep to its end (or until ``should_stop``), holding its folder's lock.

    Returns FINISHED, INTERRUPTED (state saved) or SKIPPED (found finished once the lock
    was held: another sweep finished it meanwhile). Raises
    :class:`~grokking.runs.lock.RunLocked` naming the holder when another process has the lock.
    """
    out = Path(run.out or out)
    run_dir = run_folder(run, out)
    _make_folder(run_dir)
    with RunLock(run_dir):
        if is_finished(run, out):
            return SKIPPED
        resume = _prepare_dir(run, run_dir, out)
        if not (run.measure and (run_dir / store.MANIFEST).exists()):  # else: trained, not yet measured
            start = None if run.start is None or resume else store.read_run(run.start)[1]
            began = time.perf_counter()
            result = train(run.config, run_dir, device=device, resume=resume, should_stop=should_stop,
                           keep_checkpoints=run.measure, start_state=start,
                           early_stop=EarlyStop(ACC_THRESHOLD, PATIENCE) if run.early_stop else None)
            if not result.finished:
                return INTERRUPTED
            store.atomic_write_json(run_dir / TIMING, {"train_seconds": time.perf_counter() - began,
                                                      "resumed": resume})
        if run.keep == "row" or run.measure:
            _, state, history = store.read_run(run_dir)
            row = result_row(run.config, history, state)
            if run.measure:
                row.update(measured(run_dir, run))
            store.atomic_write_json(result_path(run, out), row)
            (run_dir / TIMING).unlink(missing_ok=True)
    return FINISHED


TIMING = "timing.json"  # a trained run's wall time, in its folder (not a run file)


def measured(run_dir: Path, run: SweepRun) -> dict:
    """What a measured run adds to its result table: where it started, its wall time, and
    its progress measures at every checkpoint (:func:`grokking.analysis.progress.compute_progress`,
    the scalars to 4 significant digits) with the fraction of training rows whose float32
    softmax has collapsed (:func:`grokking.analysis.beyond.collapsed_fraction`). A run kept
    whole also gets its ``progress.safetensors``. The checkpoints stay in the run's folder
    (git ignores them): deleting the result table and running the experiment again
    measures them again without training."""
    loaded = load_run(run_dir)
    keys = RunContext(loaded).key_frequencies
    progress = compute_progress(run_dir, keys)
    collapse = []
    train_tokens = loaded.data.train_tokens
    for epoch in progress["epoch"].tolist():
        state = store.load_tensors(store.checkpoint_path(run_dir, epoch))
        loaded.model.load_state_dict(state)
        collapse.append(collapsed_fraction(fast.last_logits(loaded.model, train_tokens)))
    if run.keep == "run":
        save_progress(run_dir, progress)
    timing = store.load_json(run_dir / TIMING) if (run_dir / TIMING).exists() else {}
    curves = {key: [float(f"{float(v):.4g}") for v in progress[key]] for key in MEASURES}
    return {
        "start": None if run.start is None else str(run.start),
        "train_seconds": timing.get("train_seconds"),
        "progress": {"epoch": progress["epoch"].tolist(), "key_frequencies": keys, **curves,
                     "collapsed_fraction": collapse},
    }


def _attempt(run: SweepRun, out: Path, device: str, should_stop) -> tuple[str, str]:
    """:func:`train_one`'s outcome, and for a run another process holds, LOCKED and the lock's message."""
    try:
        return train_one(run, out, device, should_stop), ""
    except RunLocked as exc:
        return LOCKED, str(exc)


# A pool worker's state, set by its initializer: the parent's stop flag, the watch on the
# parent, and a lock held while a run is being trained (see _exit_when_idle).
_STOP = None
_WATCH: ParentWatch | None = None
_BUSY = threading.Lock()


def _worker_init(threads: int, stop_event, parent_pid: int) -> None:
    ignore_in_worker()  # the parent decides; see run_sweep
    torch.set_num_threads(threads)
    prepare_process()
    global _STOP, _WATCH  # noqa: PLW0603 - a pool worker's state, set by its initializer
    _STOP = stop_event
    _WATCH = ParentWatch(parent_pid).start(on_gone=_exit_when_idle)


def _exit_when_idle() -> None:
    """The parent is gone: let the run in progress stop and save its state, then end this worker.

    A worker left alone would wait for tasks forever (it holds both ends of the task pipe).
    """
    _BUSY.acquire(timeout=ORPHAN_GRACE_S)
    os._exit(1)


def _stopping() -> bool:
    """A worker's ``should_stop``: its parent is gone, or asked it to stop.

    The watch comes first: it shares no lock with the parent, which may have died holding one.
    """
    return _WATCH.gone() or _STOP.is_set()


def _worker(args) -> tuple[str, str, str]:
    run, out, device = args
    with _BUSY:
        if _stopping():
            return run.name, INTERRUPTED, ""
        return (run.name, *_attempt(run, out, device, _stopping))


def run_sweep(runs: list[SweepRun], out: str | Path, *, jobs: int = 1, threads: int | None = None,
              device: str = "cpu", should_stop: Callable[[], bool] | None = None,
              on_done: Callable[[str, bool], None] | None = None,
              on_locked: Callable[[str, str], None] | None = None) -> dict[str, list[str]]:
    """Train every unfinished run of ``runs`` into ``out``.

    With ``jobs > 1`` the runs are spread over that many worker processes (no more than
    there are runs to train). Returns the names of the runs ``skipped`` (already finished),
    ``finished`` now, ``interrupted`` and ``locked`` (being trained by another process: left
    alone). ``on_done(name, finished)`` is called for each run trained, finished or not;
    ``on_locked(name, message)`` for each locked run, with the lock's one-line message.
    However this returns or raises, no worker is left running; a worker whose parent is
    killed stops its run (state saved) and exits on its own.
    """
    check_jobs(jobs, threads)
    out = Path(out)
    names = [r.name for r in runs]
    for name in names:
        if not RUN_NAME.fullmatch(name):
            raise SweepError(f"run name {name!r} is not a plain folder name")
    _check_distinct(names, "run name")
    summary = {SKIPPED: [], FINISHED: [], INTERRUPTED: [], LOCKED: []}
    todo = []
    for run in runs:
        if is_finished(run, out):
            summary[SKIPPED].append(run.name)
        else:
            todo.append(run)

    def record(name: str, outcome: str, message: str = "") -> None:
        summary[outcome].append(name)
        if outcome == LOCKED and on_locked is not None:
            on_locked(name, message)
        if outcome in (FINISHED, INTERRUPTED) and on_done is not None:
            on_done(name, outcome == FINISHED)

    if jobs <= 1 or len(todo) <= 1:
        if threads is not None:
            torch.set_num_threads(threads)
        for run in todo:
            if should_stop is not None and should_stop():
                record(run.name, INTERRUPTED)
                continue
            record(run.name, *_attempt(run, out, device, should_stop))
        return summary
    _run_in_pool(todo, out, min(jobs, len(todo)), threads, device, should_stop, record)
    return summary


def _run_in_pool(todo: list[SweepRun], out: Path, jobs: int, threads: int | None, device: str,
                 should_stop: Callable[[], bool] | None, record: Callable[..., None]) -> None:
    """Train ``todo`` in ``jobs`` worker processes, passing each outcome to ``record``.

    However this ends (an exception here, in ``record`` or in a worker included), the
    workers are told to stop, save their runs' state and exit, and are waited for: leaving
    a pool's ``with`` block would terminate() them with SIGTERM, which they ignore.
    """
    ctx = multiprocessing.get_context("spawn")
    stop_event = ctx.Event()
    per_job = threads if threads is not None else max(1, torch.get_num_threads() // jobs)
    # longest first: the grid's slowest runs (largest training sets) start early
    todo = sorted(todo, key=lambda r: -r.config.n_trained * r.config.epochs)
    pool = ctx.Pool(jobs, initializer=_worker_init, initargs=(per_job, stop_event, os.getpid()))
    try:
        pending = pool.imap_unordered(_worker, [(r, out, device) for r in todo])
        while True:
            try:
                outcome = pending.next(timeout=0.5)
            except multiprocessing.TimeoutError:
                if should_stop is not None and should_stop():
                    stop_event.set()
                continue
            except StopIteration:
                break
            record(*outcome)
    finally:
        stop_event.set()  # harmless once every run is done; otherwise the runs still going stop
        pool.close()
        pool.join()


def parse_floats(text: str, what: str) -> tuple[float, ...]:
    """'0.1,0.3' -> (0.1, 0.3), for the command line."""
    try:
        values = tuple(float(x) for x in re.split(r"[,\s]+", text.strip()) if x)
    except ValueError:
        raise SweepError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if not values or any(not math.isfinite(v) for v in values):
        raise SweepError(f"{what} must be comma-separated numbers, got {text!r}")
    return values
