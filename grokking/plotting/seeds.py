"""Seeds: loss curves of several runs, and their frequencies side by side."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .style import CMAP, SEED_COLORS, SMALL, STYLE, new_figure


def loss_curves(histories: list[dict], labels: list[str]) -> Figure:
    """Train (dashed) and test (solid) loss of every run, one colour per seed, log-log."""
    fig, ax = new_figure(height=3.8)
    with plt.rc_context(STYLE):
        for i, (h, label) in enumerate(zip(histories, labels, strict=True)):
            epochs = h["epoch"].numpy()
            keep = epochs > 0
            color = SEED_COLORS[i % len(SEED_COLORS)]
            ax.plot(epochs[keep], h["test_loss"].numpy()[keep], color=color, lw=1.3, label=label)
            ax.plot(epochs[keep], h["train_loss"].numpy()[keep], color=color, lw=1.0, ls="--", alpha=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("epoch (log scale)")
        ax.set_ylabel("cross-entropy loss (log scale)")
        ax.set_title("Every seed memorises, then groks: test loss (solid), train loss (dashed)")
        ax.legend(ncol=min(len(histories), 3), loc="lower left", fontsize=SMALL)
    return fig


def frequency_fingerprints(power: np.ndarray, key_frequencies: list[list[int]], cross: np.ndarray,
                           labels: list[str]) -> Figure:
    """Left: each run's embedding power by frequency (``power``, runs x K; key frequencies boxed).
    Right: which run's key frequencies explain which run's logits (``cross``, from
    :func:`grokking.analysis.seeds.cross_fit`)."""
    n = len(labels)
    fig, (left, right) = new_figure(1, 2, height=max(3.8, 0.6 * n + 1.6), sharey=True,
                                    gridspec_kw={"width_ratios": [1.9, 1]})
    K = power.shape[1]
    with plt.rc_context(STYLE):
        image = left.imshow(power, aspect="auto", cmap=CMAP, interpolation="nearest",
                            extent=(0.5, K + 0.5, n - 0.5, -0.5))
        for i, keys in enumerate(key_frequencies):
            for k in keys:
                left.add_patch(plt.Rectangle((k - 0.5, i - 0.45), 1, 0.9, fill=False, ec="#e8e8e8", lw=1.0))
        left.set_yticks(range(n), labels)
        left.set_xlabel("frequency k (w = 2 pi k / p)")
        left.set_title("Embedding power by frequency\n(key frequencies boxed)")
        fig.colorbar(image, ax=left, shrink=0.9, pad=0.02, label="share of W_E's power")

        # the same rows as the left panel (shared y axis): run i's logits, fitted with run j's frequencies
        table = cross
        right.imshow(table, cmap=CMAP, vmin=0, vmax=1, aspect="auto", interpolation="nearest",
                     extent=(-0.5, n - 0.5, n - 0.5, -0.5))
        for i in range(n):
            for j in range(n):
                right.text(j, i, f"{abs(table[i, j]):.2f}", ha="center", va="center", fontsize=10,
                           color="black" if table[i, j] > 0.5 else "white")
        short = [lab.split(" (")[0] for lab in labels]
        right.set_xticks(range(n), short, rotation=45, ha="right", rotation_mode="anchor")
        right.tick_params(axis="y", labelleft=False)
        right.set_xlabel("... with the key frequencies of")
        right.set_title("Each run's logits (row)\nfitted by cos terms ...")
    return fig
