"""Sweep speed: the phase grid's cost from one-thread epoch costs.

    .venv/bin/python benchmarks/sweep_speed.py            # p = 59, the book's grid

(An earlier part 1 compared a batched multi-run trainer with one run at a time; the
batched trainer was slower on this CPU and was removed: see the README's table.)

It times the fast step (plus its share of evaluation: test metrics every
10 epochs) at every train fraction of the grid, on one thread, and combines that
with the epochs each committed run actually trained (runs/phase/results) into
the grid's cost: CPU seconds in all and the wall time on 2 cores with 2 jobs
(longest runs first, as the sweep schedules them), and runs per hour.
"""

from __future__ import annotations

import argparse
import heapq
import statistics
import time
from pathlib import Path

import torch

from grokking import sweep
from grokking.config import Config
from grokking.data import make_dataset
from grokking.model import build_model
from grokking.training.cpu import prepare_process
from grokking.training.loop import Trainer

ROOT = Path(__file__).resolve().parents[1]


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def epoch_cost_ms(p: int, frac: float, repeats: int) -> float:
    """One training epoch plus a tenth of a test-set evaluation, fast path, in ms."""
    config = Config(p=p, frac_train=frac)
    t = Trainer(config, build_model(config), make_dataset(config))
    for _ in range(10):
        t.step()
    step = _median_ms(t.step, repeats)
    evaluate = _median_ms(lambda: t.evaluate("test"), max(5, repeats // 4))
    return step + evaluate / config.eval_every


def schedule(durations: list[float], workers: int) -> float:
    """Wall time of running jobs longest-first on ``workers`` (greedy: next job to the first free)."""
    free = [0.0] * workers
    for d in sorted(durations, reverse=True):
        heapq.heappush(free, heapq.heappop(free) + d)
    return max(free)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--p", type=int, default=sweep.PHASE_P)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--results", default=str(ROOT / "runs" / "phase"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    prepare_process()  # the CPU settings training uses (grokking.training.cpu)

    print("# the phase grid's cost, from one-thread epoch costs and the committed runs' lengths")
    cost = {frac: epoch_cost_ms(args.p, frac, args.repeats) for frac in sweep.PHASE_FRACS}
    for frac, ms in cost.items():
        print(f"train frac {frac:g}: {ms:.2f} ms per epoch (step + evaluation share)")
    rows = sweep.load_results(args.results)
    seconds = [r["epochs_trained"] * cost[r["config"]["frac_train"]] / 1e3 for r in rows
               if r["config"]["frac_train"] in cost]
    total = sum(seconds)
    wall = schedule(seconds, 2)
    print(f"{len(seconds)} runs, {sum(r['epochs_trained'] for r in rows):,} epochs in all")
    print(f"CPU time: {total / 60:.1f} min; wall time with 2 jobs on 2 cores: {wall / 60:.1f} min "
          f"({len(seconds) / (wall / 3600):.0f} runs per hour)")


if __name__ == "__main__":
    main()
