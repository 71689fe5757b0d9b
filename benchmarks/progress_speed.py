"""Time the progress measures over every checkpoint of a run (default: the committed run).

Needs the run's checkpoints/ folder (a local retrain writes it; git does not carry it).
The last line printed is JSON: {"checkpoints": n, "seconds": total, "ms_per_checkpoint": median}.

    python benchmarks/progress_speed.py [--run runs/canonical] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from grokking.analysis.context import RunContext
from grokking.analysis.progress import compute_progress
from grokking.runs.load import load_run

CANONICAL_RUN = Path(__file__).resolve().parents[1] / "runs" / "canonical"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=CANONICAL_RUN)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run = load_run(args.run)
    keys = RunContext(run).key_frequencies
    n = len(run.checkpoint_epochs)
    totals = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        compute_progress(args.run, keys)
        totals.append(time.perf_counter() - t0)
    med = statistics.median(totals)
    print(f"{n} checkpoints, key frequencies {keys}: median {med:.1f} s over {args.repeats} repeats "
          f"({', '.join(f'{t:.1f}' for t in totals)} s)")
    print(json.dumps({"checkpoints": n, "seconds": round(med, 2), "ms_per_checkpoint": round(1e3 * med / n, 1)}))


if __name__ == "__main__":
    main()
