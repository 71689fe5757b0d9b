"""Seeds: loss curves of several runs, and their frequencies side by side."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..context import RunContext
from ..seeds import cross_fit, embedding_power, run_label
from .common import CMAP, STYLE, new_figure

SEED_COLORS = plt.get_cmap("tab10").colors


def loss_curves(contexts: list[RunContext]) -> Figure:
    """Train (dashed) and test (solid) loss of every run, one colour per seed, log-log."""
    fig, ax = new_figure(height=3.8)
    with plt.rc_context(STYLE):
        for i, ctx in enumerate(contexts):
            h = ctx.run.history
            epochs = h["epoch"].numpy()
            keep = epochs > 0
            color = SEED_COLORS[i % len(SEED_COLORS)]
            ax.plot(epochs[keep], h["test_loss"].numpy()[keep], color=color, lw=1.3, label=run_label(ctx))
            ax.plot(epochs[keep], h["train_loss"].numpy()[keep], color=color, lw=1.0, ls="--", alpha=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("epoch (log scale)")
        ax.set_ylabel("cross-entropy loss (log scale)")
        ax.set_title("Every seed memorises, then groks: test loss (solid), train loss (dashed)")
        ax.legend(ncol=len(contexts), loc="lower left", fontsize=8)
    return fig


def frequency_fingerprints(contexts: list[RunContext]) -> Figure:
    """Left: each run's embedding power by frequency (key frequencies boxed). Right: which
    run's key frequencies explain which run's logits (cos(w(a + b - c)) fits)."""
    fig, (left, right) = new_figure(1, 2, height=3.8, gridspec_kw={"width_ratios": [2.1, 1], "wspace": 0.12})
    labels = [run_label(c) for c in contexts]
    power = np.stack([embedding_power(c).numpy() for c in contexts])
    K = power.shape[1]
    with plt.rc_context(STYLE):
        image = left.imshow(power, aspect="auto", cmap=CMAP, interpolation="nearest",
                            extent=(0.5, K + 0.5, len(contexts) - 0.5, -0.5))
        for i, ctx in enumerate(contexts):
            for k in ctx.key_frequencies:
                left.add_patch(plt.Rectangle((k - 0.5, i - 0.45), 1, 0.9, fill=False, ec="#e8e8e8", lw=1.0))
        left.set_yticks(range(len(contexts)), labels)
        left.set_xlabel("frequency k (w = 2 pi k / p)")
        left.set_title("Embedding power by frequency (key frequencies boxed)")
        fig.colorbar(image, ax=left, shrink=0.9, pad=0.02, label="share of W_E's power")

        table = cross_fit(contexts).numpy()
        image = right.imshow(table, cmap=CMAP, vmin=0, vmax=1)
        for i in range(len(contexts)):
            for j in range(len(contexts)):
                right.text(j, i, f"{abs(table[i, j]):.2f}", ha="center", va="center", fontsize=8,
                           color="black" if table[i, j] > 0.5 else "white")
        short = [lab.split(" (")[0] for lab in labels]
        right.set_xticks(range(len(contexts)), short, rotation=45, ha="right")
        right.set_yticks(range(len(contexts)), short)
        right.set_xlabel("... with the key frequencies of")
        right.set_title("Logits of each run (row)\nfitted by cos terms ...", fontsize=10)
    return fig


FIGURES = {
    "seed_loss_curves": loss_curves,
    "seed_frequency_fingerprints": frequency_fingerprints,
}
