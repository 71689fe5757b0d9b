"""Command line: ``python -m grokking train|info|progress|sweep|experiment|figures``.

Every error is one line on stderr and a non-zero exit status, never a traceback:

- 2: bad arguments (checked before anything is created or changed);
- 1: a missing, damaged, locked or failed run, or a file that cannot be written;
- 130 / 143: stopped by SIGINT / SIGTERM (training state is saved for ``--resume``).

An unexpected error also prints one line, saying how to see its traceback
(``--debug`` or ``GROKKING_DEBUG=1``). Only this project's runs are ever replaced
(:mod:`grokking.runs.claim`), and one process at a time writes a run
(:mod:`grokking.runs.lock`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import torch

from . import experiments, sweep
from .analysis.curves import first_epoch_reaching
from .config import P_MAX, Config, ConfigError
from .figures import write_all
from .pipeline import write_progress
from .runs import claim, store
from .runs.load import load_run, require_run
from .training.cpu import prepare_process
from .training.loop import GROK_ACCURACY, train
from .training.signals import StopOnSignal

EXIT_USAGE = 2
DEFAULT = Config()  # the defaults the help texts quote
EXIT_RUN = 1
DEBUG_ENV = "GROKKING_DEBUG"  # set to 1 to see the traceback of an unexpected error


class UsageError(Exception):
    """Bad command-line input (exit status 2)."""


class Terminated(BaseException):
    """SIGTERM outside training (where :class:`StopOnSignal` handles it): stop like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def path_arg(text: str) -> Path:
    """An argparse type: a path that the operating system can take."""
    if not text or "\0" in text or len(os.fsencode(text)) > 4000:
        raise argparse.ArgumentTypeError(f"not a usable path: {text[:60]!r}")
    return Path(text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m grokking", description="Grokking modular addition.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a run (the paper's setup by default)")
    t.add_argument("--epochs", type=int, help=f"epochs (full-batch steps), default {DEFAULT.epochs}")
    t.add_argument("--p", type=int, help=f"the modulus, a prime from 3 to {P_MAX} (default {DEFAULT.p})")
    t.add_argument("--frac-train", type=float,
                   help=f"fraction of pairs used for training (default {DEFAULT.frac_train:g})")
    t.add_argument("--seed", type=int, help=f"model initialisation seed (default {DEFAULT.model_seed})")
    t.add_argument("--split-seed", type=int, help=f"train/test split seed (default {DEFAULT.split_seed})")
    t.add_argument("--weight-decay", type=float, help=f"AdamW weight decay (default {DEFAULT.weight_decay:g})")
    t.add_argument("--lr", type=float, help=f"AdamW learning rate (default {DEFAULT.lr:g})")
    t.add_argument("--out", type=path_arg, default=Path("runs/local"), help="run directory (default runs/local)")
    t.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    t.add_argument("--force", action="store_true", help="replace an existing run in --out")
    t.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    t.add_argument("--no-checkpoints", action="store_true", help="do not keep per-100-epoch weights")

    i = sub.add_parser("info", help="summarise a run directory")
    i.add_argument("run", type=path_arg)

    g = sub.add_parser("progress", help="compute the progress measures of a run from its checkpoints "
                                        "(again, if they were interrupted)")
    g.add_argument("run", type=path_arg)

    w = sub.add_parser("sweep", help="train a grid of runs (resumable; finished runs are kept)")
    w.add_argument("grid", choices=("seeds", "phase"),
                   help="seeds: the default config under other seeds; phase: train fraction x weight decay")
    w.add_argument("--out", type=path_arg, help="sweep folder (default runs/seeds or runs/phase)")
    w.add_argument("--jobs", type=int, default=1, help="runs trained at once, in separate processes (default 1)")
    w.add_argument("--threads", type=int, help="torch threads per job (default: the cores shared out)")
    w.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    w.add_argument("--epochs", type=int, help="epochs per run (default 40000 for seeds, 20000 for phase)")
    w.add_argument("--seeds", help="seeds grid: comma-separated seeds (default 1,2,3,4)")
    w.add_argument("--p", type=int, help="phase grid: the modulus (default 59)")
    w.add_argument("--fracs", help="phase grid: comma-separated train fractions")
    w.add_argument("--weight-decays", help="phase grid: comma-separated weight decays")
    w.add_argument("--list", action="store_true", help="list the grid's runs and whether each is done; train nothing")

    x = sub.add_parser("experiment", help="train one of the 'Beyond the paper' experiments (resumable)")
    x.add_argument("name", choices=(*experiments.EXPERIMENTS, experiments.ALL),
                   help="which experiment ('all': every one, their runs in one pool of --jobs)")
    x.add_argument("--out", type=path_arg, help="experiment folder (default runs/experiments/NAME; "
                                                "for 'all', the folder of the experiments' folders)")
    x.add_argument("--jobs", type=int, default=1, help="runs trained at once, in separate processes (default 1)")
    x.add_argument("--threads", type=int, help="torch threads per job (default: the cores shared out)")
    x.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    x.add_argument("--epochs", type=int, help="epochs per run (default: the experiment's own)")
    x.add_argument("--p", type=int, help=f"the modulus (default {DEFAULT.p}; a small one makes a quick try)")
    x.add_argument("--start", type=path_arg,
                   help="ungrokking: the run whose final weights it continues (default runs/canonical)")
    x.add_argument("--list", action="store_true", help="list the experiment's runs and whether each is done")

    f = sub.add_parser("figures", help="write every figure of the book as PNG")
    f.add_argument("--run", type=path_arg, default=Path("runs/canonical"),
                   help="run directory (default runs/canonical, the committed run)")
    f.add_argument("--seeds", type=path_arg, default=Path("runs/seeds"),
                   help="seeds sweep folder for the seeds figures (default runs/seeds; skipped when absent)")
    f.add_argument("--phase", type=path_arg, default=Path("runs/phase"),
                   help="phase sweep folder for the phase-diagram figures (default runs/phase; skipped when absent)")
    f.add_argument("--out", type=path_arg, required=True, help="folder for the PNG files")
    return parser


# --------------------------------------------------------------------- train
_OPTION_FIELDS = {
    "epochs": "epochs", "p": "p", "frac_train": "frac_train", "seed": "model_seed",
    "split_seed": "split_seed", "weight_decay": "weight_decay", "lr": "lr",
}


def _config_from_args(args) -> tuple[Config, dict]:
    given = {field: getattr(args, opt) for opt, field in _OPTION_FIELDS.items() if getattr(args, opt) is not None}
    try:
        return Config().replace(**given), given
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _check_device(name: str):
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"unknown device {name!r} (use cpu or cuda)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda asked for, but no CUDA device is available")
    if device.type not in ("cpu", "cuda"):
        raise UsageError(f"unsupported device {name!r} (use cpu or cuda)")
    return device


def _run_dir_plan(args, config: Config, given: dict) -> Config:
    """The config to train into ``--out``, after checking what the directory holds.

    Raises :class:`UsageError` (nothing changed) when the directory's state does not fit
    the flags. Called before the directory is claimed and again under its lock.
    """
    out: Path = args.out
    state = claim.run_state(out)
    if state == claim.FOREIGN:
        entries = claim.foreign_entries(out) if out.is_dir() else []
        would = f" (--force would have deleted {claim.listing(entries)})" if args.force and entries else ""
        raise UsageError(f"{out} is a non-empty directory that is not a run of this project; "
                         f"refusing to use it{would}")
    if args.resume:
        if state == claim.EMPTY:
            raise UsageError(f"{out} holds no run to resume (no {store.CONFIG})")
        if state == claim.FAILED:
            failed = store.load_json(out / store.FAILED)
            reason = failed.get("reason", "?") if isinstance(failed, dict) else "?"
            raise UsageError(f"{out} failed ({reason}); resuming would fail again: "
                             "start it again with --force and other settings")
        try:
            saved = store.load_config(out)
        except store.RunError as exc:
            raise UsageError(str(exc)) from None
        clash = [k for k, v in given.items() if getattr(saved, k) != v]
        if clash:
            raise UsageError(f"{out} was started with other settings ({', '.join(clash)}); drop them to resume")
        if state == claim.FINISHED:
            raise UsageError(f"{out} is already finished; nothing to resume")
        return saved
    if state == claim.EMPTY:
        return config
    if not args.force:
        kind = {claim.FINISHED: "a finished run", claim.FAILED: "a failed run",
                claim.INTERRUPTED: "an interrupted run",
                claim.STARTED: "a run that never reached its first epoch"}[state]
        hint = {claim.FINISHED: "use --force to replace it", claim.FAILED: "use --force to replace it",
                claim.INTERRUPTED: "use --resume to continue it or --force to replace it",
                claim.STARTED: f"use --resume to continue it (--force does not replace a lone {store.CONFIG}, "
                               "which may be another program's)"}[state]
        raise UsageError(f"{out} already holds {kind}; {hint}")
    if state == claim.STARTED:  # a lone config.json may be another program's
        raise UsageError(f"{out} holds only a {store.CONFIG}, which may not be this project's; "
                         f"--force would have deleted {store.CONFIG}: remove it yourself or use --resume")
    return config


@contextlib.contextmanager
def _claimed_run_dir(args, config: Config, given: dict):
    """Check ``--out`` (nothing created on a refusal), claim it, check again under its
    lock, then empty it (``--force``) and write its config; yields the config to train."""
    out: Path = args.out
    if args.resume and args.force:
        raise UsageError("--resume and --force exclude each other")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a directory")
    _run_dir_plan(args, config, given)
    with claim.claim(out):
        config = _run_dir_plan(args, config, given)  # another process may have changed it meanwhile
        if not args.resume:
            claim.clear_run(out)
            store.write_config(out, config)
        yield config


class _Progress:
    """A tqdm bar on a terminal, plain log lines otherwise."""

    def __init__(self, total: int, start: int, stream=sys.stderr):
        self.stream = stream
        self.total = total
        self.bar = None
        self.last_logged = start
        self.log_every = max(1000, total // 40)
        if stream.isatty():
            from tqdm.auto import tqdm  # only on a terminal

            self.bar = tqdm(total=total, initial=start, unit="epoch", file=stream, dynamic_ncols=True)

    def __call__(self, row: dict) -> None:
        epoch = row["epoch"]
        text = f"train {row['train_loss']:.3g}, test {row['test_loss']:.3g}, test acc {row['test_acc']:.1%}"
        if self.bar is not None:
            self.bar.n = epoch
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.refresh()
        elif epoch - self.last_logged >= self.log_every or epoch in (0, self.total):
            self.last_logged = epoch
            print(f"epoch {epoch:>6}/{self.total}: {text}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_train(args) -> int:
    config, given = _config_from_args(args)
    device = _check_device(args.device)
    with _claimed_run_dir(args, config, given) as config:
        # Before any parallel work, so that the CPU threads created later inherit it
        # (see grokking.training.cpu).
        prepare_process()
        progress = _Progress(config.epochs, 0)
        try:
            with StopOnSignal() as stop:
                result = train(
                    config, args.out, device=device, resume=args.resume, on_record=progress,
                    should_stop=stop.requested, keep_checkpoints=not args.no_checkpoints,
                )
        finally:
            progress.close()
        if not result.finished:
            print(
                f"stopped at epoch {result.epoch}; state saved in {args.out}; "
                f"continue with: python -m grokking train --out {args.out} --resume",
                file=sys.stderr,
            )
            return stop.exit_status
        print(f"finished {config.epochs} epochs; run written to {args.out}")
        if not args.no_checkpoints:
            return _report_progress(args.out)
    return 0


def _report_progress(run_dir: Path) -> int:
    """Write the progress measures of the finished run in ``run_dir`` (whose lock the caller holds)."""
    try:
        measures = write_progress(run_dir)
    except (KeyboardInterrupt, Terminated) as exc:
        signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
        print(f"progress measures interrupted; the run itself is finished; "
              f"compute them with: python -m grokking progress {run_dir}", file=sys.stderr)
        return 128 + int(signum)
    keys = measures["key_frequencies"].tolist()
    print(f"progress measures of {len(measures['epoch'])} checkpoints written (key frequencies {keys})")
    return 0


def cmd_progress(args) -> int:
    run_dir = require_run(args.run)
    if not store.checkpoint_epochs(run_dir):
        raise store.RunError(f"{run_dir / store.CHECKPOINTS}: no checkpoints to measure "
                             "(the run was trained with --no-checkpoints, or they were removed)")
    with claim.claim(run_dir):
        return _report_progress(run_dir)


# ---------------------------------------------------------------------- info
def summary(run) -> str:
    h, c = run.history, run.config
    grok = first_epoch_reaching(h, "test_acc", GROK_ACCURACY)
    lines = [
        f"run:        {run.path}",
        f"task:       (a + b) mod {c.p}, {c.n_train} train / {c.p * c.p - c.n_train} test pairs "
        f"(split seed {c.split_seed}, model seed {c.model_seed})",
        f"optimiser:  AdamW lr {c.lr:g}, weight decay {c.weight_decay:g}, betas ({c.beta1:g}, {c.beta2:g})",
        f"epochs:     {int(h['epoch'][-1])}",
        f"final:      train loss {h['train_loss'][-1]:.3e}, acc {h['train_acc'][-1]:.2%}; "
        f"test loss {h['test_loss'][-1]:.3e}, acc {h['test_acc'][-1]:.2%}",
        f"test acc >= {GROK_ACCURACY:.0%} first at epoch: {grok if grok is not None else 'never'}",
        f"checkpoints: {len(run.checkpoint_epochs)} stored",
    ]
    return "\n".join(lines)


def cmd_info(args) -> int:
    print(summary(load_run(args.run)))
    return 0


def cmd_figures(args) -> int:
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a directory")
    for option, folder in (("--seeds", args.seeds), ("--phase", args.phase)):
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"{option} {folder} exists and is not a directory")
    written = write_all(load_run(args.run), args.out, seeds_dir=args.seeds, phase_dir=args.phase)
    print(f"wrote {len(written)} figures to {args.out}")
    return 0


# ---------------------------------------------------------------------- sweep
def _sweep_runs(args):
    try:
        if args.grid == "seeds":
            if any(v is not None for v in (args.p, args.fracs, args.weight_decays)):
                raise UsageError("--p, --fracs and --weight-decays belong to the phase grid")
            seeds = sweep.SEEDS
            if args.seeds is not None:
                values = sweep.parse_floats(args.seeds, "--seeds")
                if any(v != int(v) or v < 0 for v in values):
                    raise UsageError(f"--seeds must be non-negative integers, got {args.seeds!r}")
                seeds = tuple(int(v) for v in values)
            return sweep.seed_runs(seeds, args.epochs), args.out or Path("runs/seeds")
        if args.seeds is not None:
            raise UsageError("--seeds belongs to the seeds grid")
        options = {}
        if args.p is not None:
            options["p"] = args.p
        if args.fracs is not None:
            options["fracs"] = sweep.parse_floats(args.fracs, "--fracs")
        if args.weight_decays is not None:
            options["weight_decays"] = sweep.parse_floats(args.weight_decays, "--weight-decays")
        if args.epochs is not None:
            options["epochs"] = args.epochs
        return sweep.phase_runs(**options), args.out or Path("runs/phase")
    except (sweep.SweepError, ConfigError) as exc:
        raise UsageError(str(exc)) from None


def cmd_sweep(args) -> int:
    try:
        sweep.check_jobs(args.jobs, args.threads)
    except sweep.SweepError as exc:
        raise UsageError(str(exc)) from None
    device = _check_device(args.device)
    runs, out = _sweep_runs(args)
    return _run_grid(args, runs, out, device, f"sweep {args.grid}")


def cmd_experiment(args) -> int:
    try:
        sweep.check_jobs(args.jobs, args.threads)
        if args.start is not None and args.name not in ("ungrokking", experiments.ALL):
            raise UsageError("--start belongs to the ungrokking experiment")
        if args.name == experiments.ALL:
            runs = experiments.all_runs(args.out, p=args.p, epochs=args.epochs, start=args.start)
            out = args.out or experiments.default_out(experiments.ALL).parent
        else:
            runs = experiments.experiment(args.name, p=args.p, epochs=args.epochs, start=args.start).runs
            out = args.out or experiments.default_out(args.name)
    except (sweep.SweepError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    device = _check_device(args.device)
    return _run_grid(args, runs, out, device, f"experiment {args.name}")


def _run_grid(args, runs, out: Path, device, label: str) -> int:
    """Train (or with --list, list) a sweep's or an experiment's runs into ``out``."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a directory")
    if args.list:
        for run in runs:
            done = sweep.is_finished(run, out)
            print(f"{'done' if done else 'todo'}  {run.name}")
        return 0
    prepare_process()  # before the workers start (see grokking.training.cpu)

    start = time.perf_counter()

    def report(name: str, finished: bool) -> None:
        state = "finished" if finished else "interrupted"
        print(f"[{time.perf_counter() - start:7.0f} s] {state} {name}", file=sys.stderr, flush=True)

    def locked(name: str, message: str) -> None:
        print(f"[{time.perf_counter() - start:7.0f} s] locked {name}: {message}", file=sys.stderr, flush=True)

    with StopOnSignal() as stop:
        result = sweep.run_sweep(runs, out, jobs=args.jobs, threads=args.threads, device=str(device),
                                 should_stop=stop.requested, on_done=report, on_locked=locked)
    elapsed = time.perf_counter() - start
    counts = {k: len(v) for k, v in result.items()}
    print(f"{label} in {out}: {counts['finished']} trained, {counts['skipped']} already done, "
          f"{counts['interrupted']} interrupted, {counts['locked']} locked by another process ({elapsed:.0f} s)")
    if counts["interrupted"]:
        print("continue with the same command; finished runs are kept", file=sys.stderr)
        return stop.exit_status
    if counts["locked"]:
        print("runs another process is training were left alone; run the same command once it has finished",
              file=sys.stderr)
        return EXIT_RUN
    return 0


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv[:1] or os.environ.get(DEBUG_ENV, "") not in ("", "0")

    def terminate(signum, _frame):
        raise Terminated(signum)

    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, terminate),
                signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler)}
    try:
        args = build_parser().parse_args(argv)
        handler = {"train": cmd_train, "info": cmd_info, "progress": cmd_progress,
                   "figures": cmd_figures, "sweep": cmd_sweep, "experiment": cmd_experiment}[args.command]
        return handler(args)
    except (Exception, KeyboardInterrupt, Terminated) as exc:
        if debug and not isinstance(exc, UsageError | store.RunError | ConfigError | sweep.SweepError):
            raise
        code, message = failure(exc)
        print(f"grokking: {message}", file=sys.stderr)
        return code
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def failure(exc: BaseException) -> tuple[int, str]:
    """The exit status and the one line printed for an error that ends a command."""
    if isinstance(exc, UsageError):
        return EXIT_USAGE, f"error: {_one_line(exc)}"
    if isinstance(exc, store.RunError | ConfigError | sweep.SweepError):
        return EXIT_RUN, f"error: {_one_line(exc)}"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return EXIT_RUN, f"error: {where}{exc.strerror or _one_line(exc)}"
    if isinstance(exc, KeyboardInterrupt):
        return 128 + signal.SIGINT, "interrupted"
    if isinstance(exc, Terminated):
        return 128 + exc.signum, "terminated"
    return EXIT_RUN, (f"internal error: {type(exc).__name__}: {_one_line(exc)} "
                      f"(run again with --debug or {DEBUG_ENV}=1 to see the traceback)")
