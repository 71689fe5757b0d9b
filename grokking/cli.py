"""Command line: ``python -m grokking train|info|figures``.

Errors are reported as one line on stderr with a non-zero exit status (2 for
bad arguments, 1 for a damaged or missing run); nothing is overwritten.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import torch

from . import sweep
from .analysis.curves import first_epoch_reaching
from .config import Config, ConfigError
from .figures import write_all
from .pipeline import write_progress
from .runs import store
from .runs.load import load_run
from .training.cpu import prepare_process
from .training.loop import GROK_ACCURACY, train
from .training.signals import StopOnSignal

EXIT_USAGE = 2
DEFAULT = Config()  # the defaults the help texts quote
EXIT_RUN = 1


class UsageError(Exception):
    """Bad command-line input (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m grokking", description="Grokking modular addition.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a run (the paper's setup by default)")
    t.add_argument("--epochs", type=int, help=f"epochs (full-batch steps), default {DEFAULT.epochs}")
    t.add_argument("--p", type=int, help=f"the modulus, a prime >= 3 (default {DEFAULT.p})")
    t.add_argument("--frac-train", type=float,
                   help=f"fraction of pairs used for training (default {DEFAULT.frac_train:g})")
    t.add_argument("--seed", type=int, help=f"model initialisation seed (default {DEFAULT.model_seed})")
    t.add_argument("--split-seed", type=int, help=f"train/test split seed (default {DEFAULT.split_seed})")
    t.add_argument("--weight-decay", type=float, help=f"AdamW weight decay (default {DEFAULT.weight_decay:g})")
    t.add_argument("--lr", type=float, help=f"AdamW learning rate (default {DEFAULT.lr:g})")
    t.add_argument("--out", type=Path, default=Path("runs/local"), help="run directory (default runs/local)")
    t.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    t.add_argument("--force", action="store_true", help="replace an existing run in --out")
    t.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    t.add_argument("--no-checkpoints", action="store_true", help="do not keep per-100-epoch weights")

    i = sub.add_parser("info", help="summarise a run directory")
    i.add_argument("run", type=Path)

    g = sub.add_parser("progress", help="compute the progress measures of a run from its checkpoints")
    g.add_argument("run", type=Path)

    w = sub.add_parser("sweep", help="train a grid of runs (resumable; finished runs are kept)")
    w.add_argument("grid", choices=("seeds", "phase"),
                   help="seeds: the default config under other seeds; phase: train fraction x weight decay")
    w.add_argument("--out", type=Path, help="sweep folder (default runs/seeds or runs/phase)")
    w.add_argument("--jobs", type=int, default=1, help="runs trained at once, in separate processes (default 1)")
    w.add_argument("--threads", type=int, help="torch threads per job (default: the cores shared out)")
    w.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    w.add_argument("--epochs", type=int, help="epochs per run (default 40000 for seeds, 20000 for phase)")
    w.add_argument("--seeds", help="seeds grid: comma-separated seeds (default 1,2,3,4)")
    w.add_argument("--p", type=int, help="phase grid: the modulus (default 59)")
    w.add_argument("--fracs", help="phase grid: comma-separated train fractions")
    w.add_argument("--weight-decays", help="phase grid: comma-separated weight decays")
    w.add_argument("--list", action="store_true", help="list the grid's runs and whether each is done; train nothing")

    f = sub.add_parser("figures", help="write every figure of the book as PNG")
    f.add_argument("--run", type=Path, default=Path("runs/canonical"),
                   help="run directory (default runs/canonical, the committed run)")
    f.add_argument("--seeds", type=Path, default=Path("runs/seeds"),
                   help="seeds sweep folder for the seeds figures (default runs/seeds; skipped when absent)")
    f.add_argument("--phase", type=Path, default=Path("runs/phase"),
                   help="phase sweep folder for the phase-diagram figures (default runs/phase; skipped when absent)")
    f.add_argument("--out", type=Path, required=True, help="folder for the PNG files")
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


def _prepare_run_dir(args, config: Config, given: dict):
    out: Path = args.out
    if args.resume and args.force:
        raise UsageError("--resume and --force exclude each other")
    is_run = (out / store.CONFIG).exists()
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a directory")
    if args.resume:
        if not is_run:
            raise UsageError(f"{out} holds no run to resume (no config.json)")
        try:
            saved = store.load_config(out)
        except store.RunError as exc:
            raise UsageError(str(exc)) from None
        clash = [k for k, v in given.items() if getattr(saved, k) != v]
        if clash:
            raise UsageError(f"{out} was started with other settings ({', '.join(clash)}); drop them to resume")
        if (out / store.MANIFEST).exists():
            raise UsageError(f"{out} is already finished; nothing to resume")
        return saved
    if is_run:
        if not args.force:
            raise UsageError(f"{out} already holds a run; use --resume to continue it or --force to replace it")
        shutil.rmtree(out)
    elif out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} is a non-empty directory that is not a run; refusing to use it")
    store.write_config(out, config)
    return config


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
    # Before any parallel work, so that the CPU threads created later inherit it
    # (see grokking.training.cpu).
    prepare_process()
    config, given = _config_from_args(args)
    device = _check_device(args.device)
    config = _prepare_run_dir(args, config, given)

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
        _report_progress(args.out)
    return 0


def _report_progress(run_dir: Path) -> None:
    measures = write_progress(run_dir)
    keys = measures["key_frequencies"].tolist()
    print(f"progress measures of {len(measures['epoch'])} checkpoints written (key frequencies {keys})")


def cmd_progress(args) -> int:
    _report_progress(args.run)
    return 0


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
    prepare_process()
    if args.jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {args.jobs}")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be >= 1, got {args.threads}")
    device = _check_device(args.device)
    runs, out = _sweep_runs(args)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a directory")
    if args.list:
        for run in runs:
            done = sweep.is_finished(run, out)
            print(f"{'done' if done else 'todo'}  {run.name}")
        return 0

    start = time.perf_counter()

    def report(name: str, finished: bool) -> None:
        state = "finished" if finished else "interrupted"
        print(f"[{time.perf_counter() - start:7.0f} s] {state} {name}", file=sys.stderr, flush=True)

    with StopOnSignal() as stop:
        result = sweep.run_sweep(runs, out, jobs=args.jobs, threads=args.threads, device=str(device),
                                 should_stop=stop.requested, on_done=report)
    elapsed = time.perf_counter() - start
    counts = {k: len(v) for k, v in result.items()}
    print(f"sweep {args.grid} in {out}: {counts['finished']} trained, {counts['skipped']} already done, "
          f"{counts['interrupted']} interrupted ({elapsed:.0f} s)")
    if counts["interrupted"]:
        print("continue with the same command; finished runs are kept", file=sys.stderr)
        return stop.exit_status
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        handler = {"train": cmd_train, "info": cmd_info, "progress": cmd_progress,
                   "figures": cmd_figures, "sweep": cmd_sweep}[args.command]
        return handler(args)
    except UsageError as exc:
        print(f"grokking: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (store.RunError, ConfigError, sweep.SweepError) as exc:
        print(f"grokking: error: {exc}", file=sys.stderr)
        return EXIT_RUN
