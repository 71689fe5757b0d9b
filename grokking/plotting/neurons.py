"""Figures for the neurons chapter: MLP activations over (a, b) and their frequency clusters.

Plotting functions take tensors and return Figures; ``FIGURES`` wires them to a
:class:`grokking.context.RunContext` by PNG file stem.
"""

from __future__ import annotations

import torch

from ..analysis import cluster_sizes, neuron_clusters
from .attention import plot_fourier_2d
from .common import ACCENT, TEST_COLOR, TRAIN_COLOR, heatmap, new_figure

THRESHOLD = 0.85


def plot_neurons(acts: torch.Tensor, neurons=range(5)):
    """Activations (p, p, d_mlp) of the chosen neurons over (a, b), one panel each."""
    neurons = list(neurons)
    fig, axes = new_figure(1, len(neurons), height=2.5)
    for i, (n, ax) in enumerate(zip(neurons, axes)):
        heatmap(ax, acts[:, :, n], xlabel="b", ylabel="a" if i == 0 else "", title=f"Neuron {n}",
                colorbar_label="activation" if i == len(neurons) - 1 else "")
        ax.set_xticks([0, 50, 100])
        ax.set_yticks([0, 50, 100])
    fig.suptitle("MLP neuron activations at '=' (after the ReLU), for every pair (a, b)")
    return fig


def order_by_cluster(shares: torch.Tensor, threshold: float = THRESHOLD) -> torch.Tensor:
    """Neuron indices grouped by dominant frequency (explained neurons first), best share first."""
    dominant, explained = neuron_clusters(shares, threshold)
    best = shares.max(dim=1).values
    # sort key: unexplained last, then by frequency, then by decreasing share
    key = (~explained).double() * 1e4 + dominant.double() * 10 + (1 - best.double())
    return key.argsort()


def plot_clusters(shares: torch.Tensor, freqs: list[int], threshold: float = THRESHOLD):
    """Left: every neuron's best single-frequency share, sorted. Right: all shares, neurons grouped."""
    d_mlp, K = shares.shape
    fig, (left, right) = new_figure(1, 2, height=4.0, width_ratios=[1, 1.3])
    best = shares.max(dim=1).values.sort(descending=True).values
    n_explained = int((best > threshold).sum())
    left.plot(range(d_mlp), best.numpy(), color=TRAIN_COLOR, linewidth=1.5)
    left.axhline(threshold, color=TEST_COLOR, linestyle="--", linewidth=1, label=f"threshold {threshold:.0%}")
    left.axvline(n_explained - 0.5, color=ACCENT, linestyle=":", linewidth=1,
                 label=f"{n_explained} of {d_mlp} neurons above it")
    left.set_xlabel("neuron, sorted by its best share")
    left.set_ylabel("share of variance from one frequency")
    left.set_ylim(0, 1.02)
    left.set_xlim(0, d_mlp)
    left.set_title("Best single-frequency share")
    left.legend(loc="lower left", fontsize=8)

    order = order_by_cluster(shares, threshold)
    heatmap(right, shares[order], xlabel="frequency k", ylabel="neuron (grouped by dominant frequency)",
            title="Share explained by each frequency", colorbar_label="share of variance", origin="upper",
            extent=(0.5, K + 0.5, d_mlp - 0.5, -0.5), vmin=0, vmax=1)
    ticks = sorted({1, K, *freqs})
    right.set_xticks(ticks, [str(k) for k in ticks], fontsize=8)
    right.axhline(n_explained - 0.5, color="white", linewidth=1, linestyle="--")
    right.annotate("not explained", (K * 0.97, d_mlp - 4), ha="right", va="bottom", color="white", fontsize=8)
    return fig


def plot_cluster_sizes(shares: torch.Tensor, freqs: list[int], threshold: float = THRESHOLD):
    """Bar chart of how many explained neurons each frequency has, plus the unexplained ones."""
    dominant, explained = neuron_clusters(shares, threshold)
    sizes = cluster_sizes(dominant, explained)
    ks = sorted(sizes)
    names = [str(k) for k in ks] + ["none"]
    counts = [sizes[k] for k in ks] + [int((~explained).sum())]
    colors = [TRAIN_COLOR if k in freqs else TEST_COLOR for k in ks] + [ACCENT]
    fig, ax = new_figure(height=3.2, width=max(4.5, 0.7 * len(names) + 2))
    bars = ax.bar(range(len(names)), counts, color=colors, width=0.6)
    ax.bar_label(bars, padding=2, fontsize=9)
    ax.set_xticks(range(len(names)), names)
    ax.set_xlabel("dominant frequency k (\"none\": no frequency explains > {:.0%})".format(threshold))
    ax.set_ylabel("number of neurons")
    ax.set_ylim(0, max(counts) * 1.15)
    ax.set_title("Neuron clusters")
    if any(k not in freqs for k in ks):
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color=TRAIN_COLOR, label="key frequency"),
                           Patch(color=TEST_COLOR, label="other frequency")], fontsize=8)
    return fig


FIGURES = {
    "first_5_neuron_activations": lambda ctx: plot_neurons(ctx.neuron_acts, range(5)),
    "2d_fourier_transform_of_neuron_0": lambda ctx: plot_fourier_2d(ctx.neuron_acts[:, :, 0], ctx.basis,
                                                                    ctx.key_frequencies, what="Neuron 0"),
    "neuron_clusters": lambda ctx: plot_clusters(ctx.neuron_frequency_shares, ctx.key_frequencies),
    "neuron_cluster_sizes": lambda ctx: plot_cluster_sizes(ctx.neuron_frequency_shares, ctx.key_frequencies),
}
