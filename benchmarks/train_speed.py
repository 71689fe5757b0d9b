"""Time one full-batch training epoch three ways, side by side in one process.

- fast:   grokking's hand-written last-position step (forward, backward, AdamW)
- hooked: the plain HookedTransformer step (forward, autograd backward, AdamW)
- floor:  only the dense matrix products no step can avoid: the MLP and the
          unembedding on the training batch, forward and backward (9 matmuls)

The three take turns, round by round, so that machine noise hits them alike; in
each round a method runs ``--steps`` consecutive epochs (as training does) and
its time per epoch is recorded.

With ``--cli`` it also times the whole command line, ``python -m grokking train``
(metrics every 10 epochs, checkpoints every 100, the progress measures at the end),
for a short and a longer run (``--cli-epochs 300,1800``): the difference cancels the
start-up, and the 40,000-epoch time is estimated as t(short) + (t(long) - t(short)) /
(long - short) x (40,000 - short). With ``--baseline DIR`` (a checkout of another
commit, e.g. ``git worktree add /tmp/base <commit>``) the same runs of that tree
alternate with this one's, so that both see the same machine.

The last line printed is JSON with the medians over rounds, in milliseconds per
epoch (and, with ``--cli``, the CLI figures in seconds).

    python benchmarks/train_speed.py [--rounds 20] [--steps 5] [--device cpu] [--cli] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from grokking.config import Config
from grokking.data import make_dataset
from grokking.model import build_model
from grokking.training.cpu import prepare_process
from grokking.training.loop import Trainer, hooked_step

ROOT = Path(__file__).resolve().parents[1]


def time_cli(tree: Path, epochs: int) -> float:
    """Wall seconds of ``python -m grokking train --epochs N`` run from ``tree``'s package."""
    with tempfile.TemporaryDirectory(prefix="train-speed-") as tmp:
        env = dict(os.environ, PYTHONPATH=str(tree))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grokking", "train", "--epochs", str(epochs), "--out",
                        str(Path(tmp) / "run")], cwd=tmp, env=env, check=True, capture_output=True)
        return time.perf_counter() - start


def cli_figures(trees: dict[str, Path], short: int, long: int, repeats: int, total: int) -> dict[str, dict]:
    """Per tree: median wall time of the short and the long run (alternating trees and lengths),
    seconds per epoch, and the estimated time of a ``total``-epoch run."""
    times = {name: {short: [], long: []} for name in trees}
    for _ in range(repeats):
        for epochs in (short, long):
            for name, tree in trees.items():
                times[name][epochs].append(time_cli(tree, epochs))
    out = {}
    for name, by_length in times.items():
        t_short, t_long = (statistics.median(by_length[e]) for e in (short, long))
        per_epoch = (t_long - t_short) / (long - short)
        out[name] = {"short_s": round(t_short, 2), "long_s": round(t_long, 2),
                     "ms_per_epoch": round(1e3 * per_epoch, 2),
                     "estimate_40k_min": round((t_short + per_epoch * (total - short)) / 60, 2)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cli", action="store_true", help="also time the CLI end to end (a few minutes)")
    parser.add_argument("--cli-epochs", default="300,1800", help="the short and the long CLI run")
    parser.add_argument("--cli-repeats", type=int, default=2)
    parser.add_argument("--baseline", type=Path, help="another checkout whose CLI alternates with this one's")
    args = parser.parse_args()
    prepare_process()  # the CPU settings training uses (grokking.training.cpu)
    device = torch.device(args.device)
    config = Config()
    data = make_dataset(config).to(device)
    tokens = data.train_tokens

    fast_trainer = Trainer(config, build_model(config, device), data)
    hooked_model = build_model(config, device)
    hooked_trainer = Trainer(config, hooked_model, data)

    # The floor: the same shapes as the model's MLP and unembedding.
    g = torch.Generator(device="cpu").manual_seed(0)
    def rand(*shape):
        return (torch.randn(*shape, generator=g) / shape[0] ** 0.5).to(device)
    x = rand(len(tokens), config.d_model)
    W_in, W_out = rand(config.d_model, config.d_mlp), rand(config.d_mlp, config.d_model)
    W_U = rand(config.d_model, config.p)
    d_logits = rand(len(tokens), config.p)

    def floor_step() -> None:
        h = x @ W_in
        r = h @ W_out
        logits = r @ W_U
        _ = r.t() @ d_logits          # dW_U
        d_r = d_logits @ W_U.t()      # d resid
        _ = h.t() @ d_r               # dW_out
        d_h = d_r @ W_out.t()         # d hidden
        _ = x.t() @ d_h               # dW_in
        _ = d_h @ W_in.t()            # d input
        del logits

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    steps = {
        "fast": fast_trainer.step,
        "hooked": lambda: hooked_step(hooked_trainer),
        "floor": floor_step,
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(3):  # warm-up
        for fn in steps.values():
            fn()
    for _ in range(args.rounds):
        for name, fn in steps.items():
            sync()
            t0 = time.perf_counter()
            for _ in range(args.steps):
                fn()
            sync()
            times[name].append((time.perf_counter() - t0) * 1e3 / args.steps)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"device {device}, {torch.get_num_threads()} threads, {args.rounds} rounds of {args.steps} epochs, "
          f"batch {len(tokens)}")
    for name, ts in times.items():
        q = statistics.quantiles(ts, n=4)
        print(f"{name:>6}: median {med[name]:7.2f} ms/epoch  (quartiles {q[0]:.2f} .. {q[2]:.2f})")
    print(f"fast / floor = {med['fast'] / med['floor']:.2f}x; hooked / fast = {med['hooked'] / med['fast']:.2f}x")
    figures = {
        "fast_ms_per_epoch": round(med["fast"], 3),
        "hooked_ms_per_epoch": round(med["hooked"], 3),
        "floor_ms_per_epoch": round(med["floor"], 3),
    }
    if args.cli:
        short, long = (int(x) for x in args.cli_epochs.split(","))
        trees = {"this": ROOT} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
        cli = cli_figures(trees, short, long, args.cli_repeats, Config().epochs)
        for name, row in cli.items():
            print(f"CLI ({name}): {short} epochs {row['short_s']:.1f} s, {long} epochs {row['long_s']:.1f} s -> "
                  f"{row['ms_per_epoch']:.2f} ms/epoch, 40,000 epochs ~{row['estimate_40k_min']:.1f} min")
        this = cli["this"]["ms_per_epoch"]
        print(f"CLI / hooked step = {med['hooked'] / this:.2f}x faster per epoch")
        if "baseline" in cli:
            ratio = cli["this"]["estimate_40k_min"] / cli["baseline"]["estimate_40k_min"]
            print(f"40,000-epoch estimate, this / baseline = {ratio:.2f}")
            figures["cli_vs_baseline"] = round(ratio, 3)
        figures["cli"] = cli
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
