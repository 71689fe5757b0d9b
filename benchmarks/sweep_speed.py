"""Sweep speed: batched training against one run at a time, and the phase grid's cost.

    .venv/bin/python benchmarks/sweep_speed.py            # p = 59, the book's grid

Part 1 times one epoch of the phase grid's runs at a few train fractions: the five
weight decays of a column stepped together by grokking.batched (one process, one
thread) against the same five stepped one after another by the single-run fast
step. Timings are interleaved (batched, single, batched, ...) and the medians
compared, so a busy machine slows both alike.

Part 2 times the fast step (plus its share of evaluation: test metrics every
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

import torch
from grokking.batched import BatchedTrainer
from grokking.train import Trainer, keep_freed_memory

from grokking import sweep
from grokking.config import Config
from grokking.data import make_dataset
from grokking.model import build_model
from grokking.runs import REPO_ROOT


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def batched_vs_single(p: int, frac: float, repeats: int) -> tuple[float, float]:
    configs = [Config(p=p, frac_train=frac, weight_decay=wd) for wd in sweep.PHASE_WEIGHT_DECAYS]
    batch = BatchedTrainer(configs)
    singles = [Trainer(c, build_model(c), make_dataset(c)) for c in configs]

    def one_by_one():
        for t in singles:
            t.step()

    for _ in range(10):  # warm-up
        batch.step()
        one_by_one()
    b, s = [], []
    for _ in range(repeats):
        b.append(_median_ms(batch.step, 1))
        s.append(_median_ms(one_by_one, 1))
    return statistics.median(b), statistics.median(s)


def epoch_cost_ms(p: int, frac: float, repeats: int) -> float:
    """One training epoch plus a tenth of a test-set evaluation, fast path, in ms."""
    config = Config(p=p, frac_train=frac)
    t = Trainer(config, build_model(config), make_dataset(config))
    for _ in range(10):
        t.step()
    step = _median_ms(t.step, repeats)
    evaluate = _median_ms(lambda: t.evaluate(t.test_tokens, t.test_labels), max(5, repeats // 4))
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
    parser.add_argument("--results", default=str(REPO_ROOT / "runs" / "phase"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    keep_freed_memory()

    print(f"# 1. five weight decays per epoch, p = {args.p}, one thread (median ms)")
    print(f"{'train frac':>10} {'batched':>9} {'one by one':>11} {'batched / one by one':>21}")
    for frac in (0.1, 0.3, 0.8):
        b, s = batched_vs_single(args.p, frac, args.repeats)
        print(f"{frac:>10g} {b:>9.1f} {s:>11.1f} {b / s:>21.2f}")

    print("\n# 2. the phase grid's cost, from one-thread epoch costs and the committed runs' lengths")
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
