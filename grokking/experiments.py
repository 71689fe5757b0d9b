"""The "Beyond the paper" experiments: named grids of variant runs, trained like the sweeps.

Each experiment is a list of :class:`~grokking.sweep.SweepRun` trained by
:func:`grokking.sweep.run_sweep` (resumable, ``--jobs``, CPU or CUDA) into
``runs/experiments/NAME``. Every run is *measured*: its progress measures are taken at
every checkpoint and written, with its history every 100 epochs and its key
frequencies, to ``results/RUN.json`` (:func:`grokking.sweep.measured`); the
checkpoints stay in the git-ignored run folders. Runs the chapter takes apart further are kept whole as
well (``NAME/RUN/``, the run format of :mod:`grokking.runs.store`).

The committed results were trained with ``--threads 1``, and a run comes out again bit
for bit at that thread count. ⊥AdamW's dot products are sums whose rounding depends on
how torch splits them over threads, so its runs can differ in the last bits on more.

Every variant is the committed run's config (:class:`~grokking.config.Config`'s
defaults: its initialisation and split) with the changes listed here, unless stated:

- ``collapse`` (Prieto et al. 2025): weight decay 0 and Adam's epsilon 1e-25 (their
  code's default ``--adam_epsilon``) under four losses / optimisers: float32
  cross-entropy, float64 cross-entropy, StableMax cross-entropy, and float64
  cross-entropy with the orthogonal gradient (⊥AdamW).
- ``grokfast`` (Lee et al. 2024): the EMA gradient filter (alpha 0.98, lambda 2) at
  weight decay 1, and plain AdamW at (1 + lambda) times the learning rate, the
  filter's gain on a steady gradient.
- ``ungrokking`` (Varma et al. 2023): the committed run's final weights trained on,
  with a fresh optimiser, on random subsets of its training pairs of decreasing size.
- ``pizza`` (Zhong et al. 2023): the model with uniform attention (queries and keys
  fixed at zero), kept whole for the clock-or-pizza measures.
- ``paper-setup``: the paper code's choices where they differ from the demo's: MLP
  biases trained, randn / sqrt(d_model) initialisation (seed 0), a 10-step linear
  warm-up and its split (Python's ``random.shuffle`` under seed 0), kept whole.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .runs import store
from .runs.load import require_run
from .sweep import SweepError, SweepRun

EXPERIMENTS = ("collapse", "grokfast", "ungrokking", "pizza", "paper-setup")

# Each experiment's epochs per run, and whether its runs stop early (sweep.PATIENCE epochs
# at or above 99% test accuracy). Ungrokking starts at 100% test accuracy, so its runs
# never stop early; the runs kept whole go the whole way, to see their clean-up.
EPOCHS = {"collapse": 10_000, "grokfast": 10_000, "ungrokking": 5_000, "pizza": 20_000, "paper-setup": 40_000}
EARLY_STOP = {"collapse": True, "grokfast": True, "ungrokking": False, "pizza": False, "paper-setup": False}

COLLAPSE_ADAM_EPS = 1e-25  # Prieto et al.'s --adam_epsilon default (utils.py)
# StableMax trains longer: at the collapse runs' 10,000 epochs it had not generalised (a first
# run, measured); Prieto et al. train their StableMax run 80,000 epochs (run_main_experiments.sh).
STABLEMAX_EPOCHS_FACTOR = 4
GROKFAST_ALPHA, GROKFAST_LAMBDA = 0.98, 2.0  # the filter's defaults in Lee et al.'s grokfast.py
# ungrokking: the subsets' sizes as fractions of all p^2 pairs (the training split is 0.3)
UNGROK_FRACS = (0.25, 0.2, 0.15, 0.1, 0.05)
UNGROK_SEED = 0
PAPER_SEED = 0  # the paper code's config seed (it seeds the split; its weights are unseeded)
PAPER_WARMUP = 10


# What each run changes, as the chapter's tables name it (the committed run changes nothing).
LABELS = {
    "ce32": "weight decay 0, float32 cross-entropy",
    "ce64": "weight decay 0, float64 cross-entropy",
    "stablemax": "weight decay 0, StableMax cross-entropy",
    "ortho-adamw": "weight decay 0, ⊥AdamW (float64 cross-entropy)",
    "grokfast": "Grokfast EMA filter (alpha 0.98, lambda 2)",
    "adamw-matched-lr": f"AdamW at {1 + GROKFAST_LAMBDA:g}x the learning rate",
    "uniform-attention": "uniform attention",
    "paper-setup": "the paper code's init, biases, warm-up and split",
}


@dataclass(frozen=True)
class Experiment:
    name: str
    runs: list[SweepRun]


def _runs(name: str, base: Config, variants: dict[str, dict], keep: str, start: Path | None = None):
    return [SweepRun(run_name, base.replace(**changes), keep, EARLY_STOP[name], start=start, measure=True)
            for run_name, changes in variants.items()]


def experiment(name: str, *, p: int | None = None, epochs: int | None = None,
               start: Path | None = None) -> Experiment:
    """The runs of experiment ``name``: the default config (at modulus ``p``, trained for
    ``epochs``, when given: the tests' tiny versions) with each variant's changes.
    ``start`` is the run ungrokking continues (its final weights; default runs/canonical);
    its config must be the experiment's base config but for the epochs."""
    if name not in EXPERIMENTS:
        raise SweepError(f"no experiment {name!r}; the experiments are {', '.join(EXPERIMENTS)}")
    base = Config(epochs=EPOCHS[name] if epochs is None else epochs, **({} if p is None else {"p": p}))
    if name == "collapse":
        wd0 = {"weight_decay": 0.0, "adam_eps": COLLAPSE_ADAM_EPS}
        return Experiment(name, _runs(name, base, {
            "ce32": {**wd0, "loss": "ce32"},
            "ce64": {**wd0, "loss": "ce64"},
            "stablemax": {**wd0, "loss": "stablemax", "epochs": base.epochs * STABLEMAX_EPOCHS_FACTOR},
            "ortho-adamw": {**wd0, "optimizer": "ortho_adamw"},
        }, "row"))
    if name == "grokfast":
        return Experiment(name, _runs(name, base, {
            "grokfast": {"grokfast_alpha": GROKFAST_ALPHA, "grokfast_lambda": GROKFAST_LAMBDA},
            "adamw-matched-lr": {"lr": base.lr * (1 + GROKFAST_LAMBDA)},
        }, "row"))
    if name == "ungrokking":
        start = Path("runs/canonical") if start is None else Path(start)
        held = store.load_config(require_run(start))
        if held.replace(epochs=base.epochs) != base:
            diff = [k for k, v in base.to_dict().items() if k != "epochs" and held.to_dict().get(k) != v]
            raise SweepError(f"{start}: the start run's config differs from the experiment's in "
                             f"{', '.join(diff)}; pass --start a run of the default config"
                             + (" at this --p" if p is not None else ""))
        sizes = {f"subset-{f:.2f}": int(f * base.p * base.p) for f in UNGROK_FRACS}
        return Experiment(name, _runs(name, base, {
            run: {"train_subset": size, "subset_seed": UNGROK_SEED} for run, size in sizes.items()
        }, "row", start=start))
    if name == "pizza":
        return Experiment(name, _runs(name, base, {"uniform-attention": {"attention": "uniform"}}, "run"))
    return Experiment(name, _runs(name, base, {"paper-setup": {
        "biases": "mlp", "init": "paper", "model_seed": PAPER_SEED, "warmup_steps": PAPER_WARMUP,
        "split": "python", "split_seed": PAPER_SEED}}, "run"))


def default_out(name: str) -> Path:
    return Path("runs/experiments") / name


ALL = "all"  # every experiment at once, each run into its own experiment's folder


def all_runs(out: Path | None = None, *, p: int | None = None, epochs: int | None = None,
             start: Path | None = None) -> list[SweepRun]:
    """The runs of every experiment, each with its experiment's folder (``out / NAME``,
    default :func:`default_out`) so that one pool of ``--jobs`` trains them all."""
    runs = []
    for name in EXPERIMENTS:
        folder = default_out(name) if out is None else Path(out) / name
        runs += [dataclasses.replace(r, out=folder) for r in experiment(name, p=p, epochs=epochs, start=start).runs]
    return runs


def load_results(out: str | Path) -> dict[str, dict]:
    """Every result table of an experiment folder, by run name."""
    folder = Path(out) / "results"
    if not folder.is_dir():
        raise SweepError(f"{folder}: no experiment results here")
    return {path.stem: store.load_json(path) for path in sorted(folder.glob("*.json"))}


# ------------------------------------------------------------------ for the chapter
SERIES_KEYS = ("restricted_loss", "excluded_loss", "gini_W_E", "gini_W_L", "sum_sq_weights",
               "train_loss", "test_loss")


def result_series(row: dict) -> dict:
    """A result table's curves as one dict: ``epoch``/``train_acc``/``test_acc`` every 100
    epochs (its history) and, under ``progress``, its measures per checkpoint."""
    curve = row["curve"]
    return {"epoch": curve["epoch"], "train_acc": curve["train_acc"], "test_acc": curve["test_acc"],
            "progress": row["progress"]}


def run_series(history: dict, progress: dict) -> dict:
    """The same for a run kept whole (the committed run): its history and progress tensors."""
    return {"epoch": history["epoch"].tolist(), "train_acc": history["train_acc"].tolist(),
            "test_acc": history["test_acc"].tolist(),
            "progress": {"epoch": progress["epoch"].tolist(),
                         **{key: progress[key].tolist() for key in SERIES_KEYS}}}
