"""Figures for the neurons chapter: MLP activations over (a, b) and their frequency clusters.

Plotting functions take computed tensors and return Figures (:mod:`grokking.figures`
wires them to a run).
"""

from __future__ import annotations

import torch
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..analysis.trig import by_angle
from .style import (
    ACCENT,
    SMALL,
    TEST_COLOR,
    TRAIN_COLOR,
    heatmap,
    mark_keys,
    new_figure,
    number_axes,
    panel_grid,
    stagger_ticks,
)


def plot_neurons(acts: torch.Tensor, neurons=range(5), freqs: list[int] | None = None):
    """Activations (p, p, d_mlp) of the chosen neurons over (a, b), three panels a row.

    With ``freqs`` (neuron i's frequency k is ``freqs[i]``, e.g. the keys of
    :func:`grokking.analysis.neurons.example_neurons`), each panel places a and b by their
    angle on k's circle, k a mod p and k b mod p (:func:`grokking.analysis.trig.by_angle`):
    the neuron's k cycles in each direction show as one, so its shape can be seen.
    """
    neurons = list(neurons)
    p = acts.shape[0]
    fig, panels, _ = panel_grid(len(neurons), panel_height=2.6, extra_height=0.6)
    for i, (n, ax) in enumerate(zip(neurons, panels, strict=True)):
        k = freqs[i] if freqs else None
        order = by_angle(k, p) if k else torch.arange(p)
        heatmap(ax, acts[:, :, n][order][:, order], xlabel=f"{k}·b mod {p}" if k else "b",
                ylabel=f"{k}·a mod {p}" if k else "a", title=f"Neuron {n}" + (f" (k = {k})" if k else ""),
                colorbar_label="activation" if i % 3 == 2 or i == len(neurons) - 1 else "")
        number_axes(ax, 2)
    placed = "\n(a and b placed by their angle on the neuron's frequency k: k·a mod p, k·b mod p)" if freqs else ""
    fig.suptitle(f"MLP neuron activations at '=' (after the ReLU), for every pair (a, b){placed}")
    return fig


def plot_clusters(shares: torch.Tensor, order: torch.Tensor, freqs: list[int], threshold: float):
    """Left: every neuron's best single-frequency share, sorted. Right: all shares (d_mlp, K),
    neurons in ``order`` (:func:`grokking.analysis.neurons.order_by_cluster`)."""
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
    left.legend(loc="lower left", fontsize=SMALL)

    heatmap(right, shares[order], xlabel="frequency k", ylabel="neuron (grouped by dominant frequency)",
            title="Share explained by each frequency", colorbar_label="share of variance", origin="upper",
            extent=(0.5, K + 0.5, d_mlp - 0.5, -0.5), vmin=0, vmax=1)
    ticks = sorted({1, K, *freqs})
    stagger_ticks(right.xaxis, ticks, [str(k) for k in ticks], 0.05 * K, fontsize=SMALL)
    right.axhline(n_explained - 0.5, color="white", linewidth=1, linestyle="--")
    right.annotate("not explained", (K * 0.97, d_mlp - 4), ha="right", va="bottom", color="white", fontsize=SMALL)
    return fig


def plot_cluster_sizes(sizes: dict[int, int], n_unexplained: int, freqs: list[int], threshold: float):
    """Bar chart of how many explained neurons each frequency has (``sizes``, from
    :func:`grokking.analysis.neurons.cluster_sizes`), plus the unexplained ones."""
    ks = sorted(sizes)
    names = [str(k) for k in ks] + ["none"]
    counts = [sizes[k] for k in ks] + [n_unexplained]
    colors = [TRAIN_COLOR if k in freqs else TEST_COLOR for k in ks] + [ACCENT]
    fig, ax = new_figure(height=3.2, width=max(4.5, 0.7 * len(names) + 2))
    bars = ax.bar(range(len(names)), counts, color=colors, width=0.6)
    ax.bar_label(bars, padding=2, fontsize=9)
    ax.set_xticks(range(len(names)), names)
    ax.set_xlabel(f"dominant frequency k (\"none\": no frequency explains > {threshold:.0%})")
    ax.set_ylabel("number of neurons")
    ax.set_ylim(0, max(counts) * 1.15)
    ax.set_title("Neuron clusters")
    if any(k not in freqs for k in ks):
        ax.legend(handles=[Patch(color=TRAIN_COLOR, label="key frequency"),
                           Patch(color=TEST_COLOR, label="other frequency")], fontsize=SMALL)
    return fig


def plot_mean_spectrum(shares: torch.Tensor, key_freqs: list[int]) -> Figure:
    """Each frequency pair's share of a neuron's variance, averaged over all neurons
    (:func:`grokking.analysis.neurons.mean_power_shares_2d`), as a heatmap over (frequency
    over a, frequency over b), 0 = constant; square-root colour scale, key frequencies marked."""
    fig, ax = new_figure(1, 1, height=5.6, width=7.0)
    n = shares.shape[0]
    heatmap(ax, shares, xlabel="frequency over b (0 = constant)", ylabel="frequency over a (0 = constant)",
            title="Neuron activations in the 2D Fourier basis, averaged over all neurons",
            colorbar_label="mean share of a neuron's variance (square-root scale)",
            norm=PowerNorm(0.5, vmin=0, vmax=float(shares.max())))
    for axis in (ax.xaxis, ax.yaxis):
        mark_keys(axis, key_freqs)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(-0.5, n - 0.5)
    return fig
