"""The knobs around the training step, each measured against the default, side by side.

Each variant runs in its own process (thread count, allocator and subnormal settings
are per process), the variants take turns round by round, and each round times
``--steps`` consecutive steps of the default config from the committed run's weights
(a trained model: late training is where subnormals appear). Printed: the median ms
per step of each variant and its ratio to the default. The last line is JSON.

    python benchmarks/step_knobs.py [--rounds 7] [--steps 30]

Variants: the default (torch's threads = the cores, subnormals flushed, glibc keeps
freed memory: grokking.training.cpu); 1 thread; subnormals not flushed; glibc's default
allocator thresholds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import sys, time, torch
from grokking.config import Config
from grokking.data import make_dataset
from grokking.runs.load import load_run
from grokking.training import cpu
from grokking.training.loop import Trainer
threads, flush, keep = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3] == "1"
steps, run_dir = int(sys.argv[4]), sys.argv[5]
if threads:
    torch.set_num_threads(threads)
torch.set_flush_denormal(flush)
if keep:
    cpu.keep_freed_memory()
run = load_run(run_dir)
trainer = Trainer(Config(), run.model, make_dataset(Config()))
for _ in range(5):
    trainer.step()
start = time.perf_counter()
for _ in range(steps):
    trainer.step()
print((time.perf_counter() - start) * 1e3 / steps)
"""

VARIANTS = {
    "default": ("0", "1", "1"),
    "1 thread": ("1", "1", "1"),
    "subnormals not flushed": ("0", "0", "1"),
    "glibc default allocator": ("0", "1", "0"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "canonical")
    args = parser.parse_args()
    times = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name, (threads, flush, keep) in VARIANTS.items():
            out = subprocess.run([sys.executable, "-c", CHILD, threads, flush, keep, str(args.steps), str(args.run)],
                                 capture_output=True, text=True, check=True)
            times[name].append(float(out.stdout.strip().splitlines()[-1]))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    for name, ms in med.items():
        print(f"{name:>26}: {ms:7.2f} ms per step   x{ms / med['default']:.2f} the default")
    print(json.dumps({name: round(ms, 3) for name, ms in med.items()}))


if __name__ == "__main__":
    main()
