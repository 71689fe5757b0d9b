"""Time one training epoch of every Beyond-the-paper variant against the default, side by side.

Each experiment run's config (grokking.experiments) gets a Trainer, plus the default
config's; they take turns, round by round, so that machine noise hits them alike. In
each round a trainer runs ``--steps`` consecutive epochs (as training does) and its
time per epoch is recorded. The target: every variant within 1.3x of the default.
The ungrokking runs train on fewer pairs, so they are faster; they are timed anyway.

The last line printed is JSON: per run, the median milliseconds per epoch and its
ratio to the default's median.

    python benchmarks/variant_speed.py [--rounds 15] [--steps 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from grokking import experiments
from grokking.config import Config
from grokking.data import make_dataset
from grokking.model import build_model
from grokking.training.cpu import flush_denormals, prepare_process
from grokking.training.loop import Trainer

TARGET = 1.3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (an experiment job uses 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    prepare_process()
    configs = {"default": Config()}
    for name in experiments.EXPERIMENTS:
        for run in experiments.experiment(name).runs:
            configs[f"{name}/{run.name}"] = run.config
    trainers = {label: Trainer(c, build_model(c), make_dataset(c)) for label, c in configs.items()}
    times = {label: [] for label in trainers}
    with flush_denormals():
        for trainer in trainers.values():  # warm-up: past the first steps' allocations
            for _ in range(args.steps):
                trainer.step(measure=False)
        for _ in range(args.rounds):
            for label, trainer in trainers.items():
                start = time.perf_counter()
                for _ in range(args.steps):
                    trainer.step(measure=False)
                times[label].append((time.perf_counter() - start) / args.steps * 1000)
    base = statistics.median(times["default"])
    report = {}
    for label, values in times.items():
        median = statistics.median(values)
        ratio = median / base
        report[label] = {"ms_per_epoch": round(median, 2), "ratio": round(ratio, 3)}
        flag = "" if ratio <= TARGET else f"  over the {TARGET}x target"
        print(f"{label:32s} {median:7.2f} ms/epoch  {ratio:5.2f}x{flag}")
    print(json.dumps({"threads": args.threads, "rounds": args.rounds, "steps": args.steps, "runs": report}))


if __name__ == "__main__":
    main()
