"""Figures of the trig-identity chapter: waves in, products through the ReLU, cos(w(a+b-c)) out.

Plotting functions take tensors (or the per-cluster table of
:func:`grokking.analysis.trig.relu_product_table`, a dict of tensors) and return Figures
(:mod:`grokking.figures` wires them to a run). Frequencies are 1-based, w_k = 2 pi k / p.
"""

from __future__ import annotations

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

from ..analysis import trig
from ..analysis.logits import angle_of
from ..data import pair_index
from .style import (
    ACCENT,
    CMAP,
    MODEL_COLOR,
    SMALL,
    STYLE,
    TEST_COLOR,
    TRAIN_COLOR,
    cluster_colors,
    new_figure,
    number_axes,
    panel_grid,
    shared_colorbar,
    shared_legend,
)


# ------------------------------------------------------------------ 1. pre-activations
def plot_pre_fit(pre: torch.Tensor, table: dict, picks: dict[int, int]):
    """Per cluster, a neuron's pre-activation over (a, b) beside its wave fit, two clusters a row.

    Rows and columns are ordered by angle (k a mod p, k b mod p; see :func:`grokking.trig.by_angle`),
    so the k cycles of each wave show as one. A neuron and its fit share one colour scale.
    """
    ks = list(picks)
    p = pre.shape[0]
    per_row = min(2, len(ks))
    nrows = -(-len(ks) // per_row)
    fig, axes = new_figure(nrows, 2 * per_row, height=2.35 * nrows + 0.8, squeeze=False)
    cells = [(axes[j // per_row, 2 * (j % per_row)], axes[j // per_row, 2 * (j % per_row) + 1])
             for j in range(len(ks))]
    for ax in axes.flat[2 * len(ks):]:
        ax.axis("off")
    for (left, right), k in zip(cells, ks, strict=True):
        row, i = table[k], picks[k]
        n = int(row["neurons"][i])
        order = trig.by_angle(k, p)
        actual = pre[:, :, n][order][:, order]
        fitted = row["waves"]["fitted"][:, :, i][order][:, order]
        lo, hi = float(actual.min()), float(actual.max())
        r2 = float(row["waves"]["r2"][i])
        image = _grid(left, actual, title=f"neuron {n} (k = {k})", vmin=lo, vmax=hi)
        _grid(right, fitted, title=f"wave fit, $r^2$ = {r2:.2f}", vmin=lo, vmax=hi)
        left.set_ylabel(f"{k}·a mod {p}")
        right.tick_params(labelleft=False)
        for ax in (left, right):
            ax.set_xlabel(f"{k}·b mod {p}")
        fig.colorbar(image, ax=[left, right], shrink=0.85, pad=0.02)
    fig.suptitle(r"Pre-activations (left of each pair) and their fit "
                 r"$\kappa_n + A_n\cos(\omega a+\varphi_n) + B_n\cos(\omega b+\psi_n)$"
                 "\n(a and b placed by their angle on frequency k's circle)")
    return fig


def _grid(ax, values: torch.Tensor, title: str, **kwargs):
    """A (p, p) grid as an image over (b, a) without a colour bar, ticks at round numbers."""
    with plt.rc_context(STYLE):
        image = ax.imshow(values.detach().float().numpy(), cmap=CMAP, origin="lower", aspect="auto",
                          interpolation="nearest", **kwargs)
        ax.set_title(title)
    number_axes(ax, 2)
    return image


def plot_phase_match(table: dict):
    """Each explained neuron's wave in b against its wave in a: amplitude (left) and phase (right)."""
    ks = list(table)
    fig, (left, right) = new_figure(1, 2, height=3.6)
    for k, color in zip(ks, cluster_colors(ks), strict=False):
        w = table[k]["waves"]
        left.scatter(w["amp_a"].numpy(), w["amp_b"].numpy(), s=10, color=color, label=f"k = {k}")
        right.scatter(w["phase_a"].numpy(), w["phase_b"].numpy(), s=10, color=color, label=f"k = {k}")
    top = max(float(row["waves"]["amp_a"].max()) for row in table.values()) * 1.05
    left.plot([0, top], [0, top], color=ACCENT, linestyle="--", linewidth=1, zorder=0, label="B = A")
    left.set_xlim(0, top)
    left.set_ylim(0, top)
    left.set_xlabel(r"amplitude $A_n$ of the wave in a")
    left.set_ylabel(r"amplitude $B_n$ of the wave in b")
    left.set_title("Amplitudes")
    left.legend(fontsize=SMALL)
    right.plot([-math.pi, math.pi], [-math.pi, math.pi], color=ACCENT, linestyle="--", linewidth=1, zorder=0)
    ticks = [-math.pi, -math.pi / 2, 0, math.pi / 2, math.pi]
    names = [r"$-\pi$", r"$-\pi/2$", "0", r"$\pi/2$", r"$\pi$"]
    right.set_xticks(ticks, names)
    right.set_yticks(ticks, names)
    right.set_xlabel(r"phase $\varphi_n$ of the wave in a (radians)")
    right.set_ylabel(r"phase $\psi_n$ of the wave in b (radians)")
    right.set_title(r"Phases ($\psi_n = \varphi_n$ on the dashed line)")
    return fig


# ------------------------------------------------------------------ 2. the ReLU
def plot_relu_fits(acts: torch.Tensor, table: dict, k: int, i: int, by_angle: bool = False):
    """One neuron's activation and its fits without and with the product term.

    With ``by_angle``, rows and columns are ordered by angle (k a mod p, k b mod p), as in
    :func:`plot_pre_fit`: the k cycles in each direction show as one."""
    row = table[k]
    n = int(row["neurons"][i])
    p = acts.shape[0]
    order = trig.by_angle(k, p) if by_angle else torch.arange(p)
    actual = acts[:, :, n][order][:, order]
    r2_without, r2_with = float(row["without"]["r2"][i]), float(row["with"]["r2"][i])
    panels = [(actual, "actual activation"),
              (row["without"]["fitted"][:, :, i][order][:, order], rf"$\alpha+\beta(x+y)$: $r^2$ = {r2_without:.2f}"),
              (row["with"]["fitted"][:, :, i][order][:, order], rf"$+\gamma xy$: $r^2$ = {r2_with:.2f}")]
    fig, axes = new_figure(1, 3, height=3.3)
    lo, hi = float(actual.min()), float(actual.max())
    a_name, b_name = (f"{k}·a mod {p}", f"{k}·b mod {p}") if by_angle else ("a", "b")
    for j, (ax, (values, title)) in enumerate(zip(axes, panels, strict=False)):
        image = _grid(ax, values, title=title, vmin=lo, vmax=hi)
        ax.set_xlabel(b_name)
        if j == 0:
            ax.set_ylabel(a_name)
        else:
            ax.tick_params(labelleft=False)
    fig.colorbar(image, ax=list(axes), shrink=0.85, pad=0.02, label="activation")
    fig.suptitle(rf"Neuron {n} (k = {k}) after the ReLU; "
                 rf"$x = \cos(\omega a+\varphi_n)$, $y = \cos(\omega b+\varphi_n)$")
    return fig


def plot_relu_r2(table: dict):
    """Per cluster: mean r^2 of the wave fit of the pre-activations and of the two ReLU fits."""
    ks = list(table)
    series = [("r2_waves", "pre-activation: waves in a and b", ACCENT),
              ("r2_without", r"activation: $\alpha+\beta(x+y)$", TEST_COLOR),
              ("r2_with", r"activation: $\alpha+\beta(x+y)+\gamma xy$", TRAIN_COLOR)]
    fig, ax = new_figure(height=3.3, width=7.0)
    width = 0.26
    x = np.arange(len(ks))
    for s, (key, label, color) in enumerate(series):
        bars = ax.bar(x + (s - 1) * width, [table[k][key] for k in ks], width, color=color, label=label)
        ax.bar_label(bars, fmt="%.2f", padding=2, fontsize=SMALL)
    ax.set_xticks(x, [f"k = {k}\n({len(table[k]['neurons'])} neurons)" for k in ks])
    ax.set_xlabel("neuron cluster")
    ax.set_ylabel("mean $r^2$ over the cluster")
    ax.set_ylim(0, 1.25)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_title("How much of each neuron the fits explain")
    ax.legend(loc="upper center", ncols=3, fontsize=SMALL)
    return fig


# ------------------------------------------------------------------ 3. the readout
def plot_unembed_phase(phases: dict[int, tuple[torch.Tensor, torch.Tensor]]):
    """Each neuron's output wave over c peaks at -2 phi_n: the angle it writes against twice its phase.

    ``phases`` is :func:`grokking.analysis.trig.unembed_phases`: per cluster, (2 phi_n, -theta_n)."""
    ks = list(phases)
    fig, ax = new_figure(height=3.8, width=4.6)
    for k, color in zip(ks, cluster_colors(ks), strict=False):
        twice, written = phases[k]
        ax.scatter(twice.numpy(), written.numpy(), s=10, color=color, label=f"k = {k}")
    ax.plot([0, 2 * math.pi], [0, 2 * math.pi], color=ACCENT, linestyle="--", linewidth=1, zorder=0)
    ticks = [0, math.pi / 2, math.pi, 3 * math.pi / 2, 2 * math.pi]
    names = ["0", r"$\pi/2$", r"$\pi$", r"$3\pi/2$", r"$2\pi$"]
    ax.set_xticks(ticks, names)
    ax.set_yticks(ticks, names)
    ax.set_xlabel(r"$2\varphi_n$: twice the neuron's input phase (mod $2\pi$)")
    ax.set_ylabel(r"$-\theta_n$: its $W_L$ row is $\propto\cos(\omega c - \theta_n)$")
    ax.set_title("What each neuron writes to the logits")
    ax.legend(fontsize=SMALL, loc="upper left")
    return fig


def plot_cluster_readout(cluster_logits: dict[int, torch.Tensor], fits: dict[int, dict],
                         a: int, b: int, p: int):
    """For one pair, each cluster's contribution to the logits over c next to its cos(w_k(a+b-c)) fit,
    three clusters a row."""
    ks = list(cluster_logits)
    row = pair_index(a, b, p)
    answer = (a + b) % p
    c = np.arange(p)
    fig, panels, spares = panel_grid(len(ks), panel_height=2.5)
    for j, (ax, k, color) in enumerate(zip(panels, ks, cluster_colors(ks), strict=True)):
        order = trig.by_angle(k, p)  # answers c placed by their angle w_k c
        values = cluster_logits[k][row].float()
        values = (values - values.mean())[order]
        fit_line, = ax.plot(c, fits[k]["fitted"][row][order].numpy(), color=ACCENT, linewidth=1.8)
        dots = ax.scatter(c, values.numpy(), s=7, color=color, zorder=3)
        mark = ax.axvline(k * answer % p, color=MODEL_COLOR, linestyle=":", linewidth=1.2)
        ax.set_title(rf"k = {k}: $\alpha$ = {float(fits[k]['alphas'][0]):.1f}, "
                     rf"$r^2$ = {fits[k]['explained']:.2f}")
        ax.set_xlabel(f"{k}·c mod {p}")
        ax.set_xlim(-1, p)
        ax.xaxis.set_major_locator(MaxNLocator(3, integer=True))
        if j % 3 == 0:
            ax.set_ylabel("logit (mean\nover c removed)")
    shared_legend(fig, spares, [fit_line, dots, mark],
                  [r"fit $\alpha\cos(\omega_k(a+b-c))$", "the cluster's logits", f"the answer c = {answer}"])
    fig.suptitle(f"Each cluster's logits for a = {a}, b = {b}, answers c placed by their angle")
    return fig


def plot_sharpening(accuracy: dict[str, float], margin: dict[str, float]):
    """Share of pairs whose top logit is the answer, and the mean margin, for clusters alone and together."""
    names = list(accuracy)
    fig, (left, right) = new_figure(1, 2, height=3.2)
    colors = [TEST_COLOR] * (len(names) - 2) + [TRAIN_COLOR, MODEL_COLOR]
    x = np.arange(len(names))
    bars = left.bar(x, [100 * accuracy[n] for n in names], color=colors, width=0.6)
    left.bar_label(bars, fmt="%.1f", padding=2, fontsize=SMALL)
    left.set_ylim(0, 115)
    left.set_ylabel("pairs whose top logit is (a+b) mod p (%)")
    left.set_title("Right answer on top")
    bars = right.bar(x, [margin[n] for n in names], color=colors, width=0.6)
    right.bar_label(bars, fmt="%.3f", padding=2, fontsize=SMALL)
    right.set_ylim(0, max(margin.values()) * 1.2)
    right.set_ylabel("(top - runner-up) / std over c")
    right.set_title("Mean margin of the top logit")
    for ax in (left, right):
        ax.set_xticks(x, names, fontsize=SMALL)
        ax.set_xlabel("logits from")
    return fig


# ------------------------------------------------------------------ 4. the clock
def _arrow(ax, angle: float, radius: float, color: str, label: str, style: str = "-", offset: float = 1.18):
    ax.annotate("", xy=(radius * math.cos(angle), radius * math.sin(angle)), xytext=(0, 0),
                arrowprops=dict(arrowstyle="-|>", color=color, linewidth=1.6, linestyle=style,
                                shrinkA=0, shrinkB=0))
    ax.text(offset * math.cos(angle), offset * math.sin(angle), label, color=color, ha="center", va="center",
            fontsize=10, fontweight="bold")


def plot_clock(cluster_logits: dict[int, torch.Tensor], model_logits: torch.Tensor, a: int, b: int, p: int):
    """Top, three clocks a row: per key frequency, the unit circle with the angles w_k a, w_k b,
    w_k (a+b) and every answer c at w_k c, coloured by the cluster's logit for it.
    Bottom: the clusters' logits over c and their sum."""
    ks = list(cluster_logits)
    row = pair_index(a, b, p)
    answer = (a + b) % p
    ncols = min(3, len(ks))
    nrows = -(-len(ks) // ncols)
    fig, axes = new_figure(nrows + 1, ncols, height=3.0 * nrows + 3.4, squeeze=False,
                           gridspec_kw={"height_ratios": [1] * nrows + [1.15]})
    gs = axes[-1, 0].get_gridspec()
    for ax in axes[-1]:
        ax.remove()
    with plt.rc_context(STYLE):
        bottom = fig.add_subplot(gs[-1, :])
    faces, spares = list(axes[:-1].flat[:len(ks)]), list(axes[:-1].flat[len(ks):])
    for ax in spares:
        ax.axis("off")
    cmap = matplotlib.colormaps[CMAP]
    circle = np.linspace(0, 2 * math.pi, 200)
    for ax, k in zip(faces, ks, strict=True):
        values = cluster_logits[k][row].float()
        values = (values - values.mean()) / (values - values.mean()).abs().max()
        angles = 2 * math.pi * k * np.arange(p) / p
        ax.plot(np.cos(circle), np.sin(circle), color=ACCENT, linewidth=0.8, zorder=0)
        dots = ax.scatter(np.cos(angles), np.sin(angles), c=values.numpy(), cmap=cmap, vmin=-1, vmax=1,
                          s=22, zorder=2)
        ta, tb, ts = (angle_of(k, p, x) for x in (a, b, a + b))
        _arrow(ax, ta, 0.5, TEST_COLOR, "a", offset=0.66)
        _arrow(ax, tb, 0.5, TRAIN_COLOR, "b", offset=0.66)
        _arrow(ax, ts, 0.93, MODEL_COLOR, "", offset=0)
        ax.scatter([math.cos(ts)], [math.sin(ts)], s=150, facecolors="none", edgecolors=MODEL_COLOR,
                   linewidths=1.5, zorder=3)
        # the sum's label just outside the ring, on the side the sum points to
        cx, cy = math.cos(ts), math.sin(ts)
        ax.annotate(f"a+b\nc = {answer}", (cx, cy), xytext=(12 * cx, 12 * cy), textcoords="offset points",
                    ha="left" if cx > 0.35 else "right" if cx < -0.35 else "center",
                    va="bottom" if cy > 0.35 else "top" if cy < -0.35 else "center",
                    fontsize=SMALL, fontweight="bold", color=MODEL_COLOR, linespacing=1.1).set_in_layout(False)
        ax.set_aspect("equal")
        ax.set_xlim(-1.62, 1.62)  # room beside the ring for the sum's label
        ax.set_ylim(-1.45, 1.45)
        ax.axis("off")
        # one product a line: three clocks a row leave each title about a third of the page
        ax.set_title(f"k = {k}\n{k}·{a} ≡ {k * a % p}\n{k}·{b} ≡ {k * b % p}\n"
                     f"sum ≡ {k * (a + b) % p} ≡ {k}·{answer}", fontsize=10, linespacing=1.3)
    shared_colorbar(fig, dots, faces, spares, "cluster's logit for c\n(scaled to ±1)")
    c = np.arange(p)
    total = torch.zeros(p)
    for k, color in zip(ks, cluster_colors(ks), strict=False):
        values = cluster_logits[k][row].float()
        values = values - values.mean()
        total += values
        bottom.plot(c, values.numpy(), color=color, linewidth=0.9, label=f"cluster k = {k}")
    bottom.plot(c, total.numpy(), color=MODEL_COLOR, linewidth=1.8, label="sum of the clusters")
    full = model_logits[row].float() - model_logits[row].float().mean()
    bottom.plot(c, full.numpy(), color=ACCENT, linewidth=1.0, linestyle="--", label="whole model")
    best = int(total.argmax())
    bottom.scatter([best], [float(total[best])], s=60, color=MODEL_COLOR, zorder=4)
    note = f" = ({a}+{b}) mod {p}" if best == answer else f" (answer {answer})"
    bottom.annotate(f"argmax: c = {best}{note}", (best, float(total[best])), xytext=(10, 2),
                    textcoords="offset points", fontsize=10, va="bottom",
                    bbox=dict(facecolor="white", edgecolor="none", pad=1))
    bottom.set_xlim(-1, p)
    bottom.set_xlabel("candidate answer c")
    bottom.set_ylabel("logit (mean over c removed)")
    bottom.set_title(f"Logits over c: the {len(ks)} clusters' waves agree only at the answer")
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=SMALL)
    low, high = float(min(total.min(), full.min())), float(max(total.max(), full.max()))
    bottom.set_ylim(low - 0.05 * (high - low), high + 0.2 * (high - low))
    fig.suptitle(f"The clock for a = {a}, b = {b} (sums mod {p}): angles add, and the logits peak "
                 "where the sum points")
    return fig
