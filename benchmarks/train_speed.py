"""Time one full-batch training epoch three ways, side by side in one process.

- fast:   grokking's hand-written last-position step (forward, backward, AdamW)
- hooked: the plain HookedTransformer step (forward, autograd backward, AdamW)
- floor:  only the dense matrix products no step can avoid: the MLP and the
          unembedding on the training batch, forward and backward (9 matmuls)

The three take turns, round by round, so that machine noise hits them alike; in
each round a method runs ``--steps`` consecutive epochs (as training does) and
its time per epoch is recorded. The last line printed is JSON with the medians
over rounds, in milliseconds per epoch.

    python benchmarks/train_speed.py [--rounds 20] [--steps 5] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from grokking.config import Config
from grokking.data import make_dataset
from grokking.model import build_model
from grokking.training.cpu import prepare_process
from grokking.training.loop import Trainer, hooked_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="cpu")
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
    print(json.dumps({
        "fast_ms_per_epoch": round(med["fast"], 3),
        "hooked_ms_per_epoch": round(med["hooked"], 3),
        "floor_ms_per_epoch": round(med["floor"], 3),
    }))


if __name__ == "__main__":
    main()
