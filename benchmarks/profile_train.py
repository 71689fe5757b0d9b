"""Where the time of ``python -m grokking train`` goes: the step, evaluation, history,
checkpoints and the progress measures, measured on a run of ``--epochs`` epochs and
scaled to the 40,000 of the default config.

Each part of the CLI's path is wrapped with a timer (nothing else changes), the run is
made through the CLI's own entry point, and the total is the wall time of that call.
The last line printed is JSON.

    python benchmarks/profile_train.py [--epochs 2000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from grokking import cli
from grokking.config import Config
from grokking.runs import store
from grokking.training import loop

SPENT: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def timed(owner, name: str, label: str) -> None:
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            SPENT[label] += time.perf_counter() - start
            CALLS[label] += 1

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2000)
    args = parser.parse_args()
    timed(loop.Trainer, "step", "step (forward, backward, AdamW)")
    timed(loop.Trainer, "evaluate", "evaluation (test split every 10 epochs)")
    timed(loop.Trainer, "tables", "tables shared by evaluation and step")
    timed(loop, "weight_norm", "weight norm (history)")
    timed(loop, "_save_resume", "resume state every 100 epochs")
    timed(loop, "model_state", "copying the weights for a checkpoint")
    timed(store, "save_tensors", "writing checkpoints and resume state")
    timed(store, "write_final", "final weights, history, manifest")
    timed(cli, "write_progress", "progress measures over the checkpoints")
    with tempfile.TemporaryDirectory(prefix="profile-train-") as tmp:
        start = time.perf_counter()
        status = cli.main(["train", "--epochs", str(args.epochs), "--out", str(Path(tmp) / "run")])
        total = time.perf_counter() - start
    assert status == 0, status
    scale = Config().epochs / args.epochs
    print(f"{args.epochs} epochs through the CLI: {total:.1f} s wall")
    accounted = 0.0
    rows = {}
    for label, seconds in sorted(SPENT.items(), key=lambda kv: -kv[1]):
        nested = label in ("copying the weights for a checkpoint", "writing checkpoints and resume state",
                           "tables shared by evaluation and step")
        if not nested:
            accounted += seconds
        print(f"  {label:<45} {seconds:7.2f} s  {100 * seconds / total:5.1f}%  ({CALLS[label]} calls)"
              + ("  [inside another row]" if nested else ""))
        rows[label] = round(seconds, 3)
    print(f"  {'everything else (start-up, loop, history)':<45} {total - accounted:7.2f} s  "
          f"{100 * (total - accounted) / total:5.1f}%")
    estimate = accounted * scale + (total - accounted)  # the timed parts scale with the epochs; the rest is start-up
    print(f"scaled to {Config().epochs:,} epochs: ~{estimate / 60:.1f} min (the timed parts x {scale:g}, "
          "the rest taken as fixed start-up)")
    print(json.dumps({"epochs": args.epochs, "total_s": round(total, 2), "parts_s": rows,
                      "estimate_40k_min": round(estimate / 60, 2)}))


if __name__ == "__main__":
    main()
