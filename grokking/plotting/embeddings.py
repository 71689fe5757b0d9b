"""Figures of the embeddings chapter: SVD of W_E, its spectrum, and the Fourier basis.

Every plotting function takes computed tensors and returns a Figure (:mod:`grokking.figures`
wires them to a run). Frequencies are 1-based, k = 1 .. (p-1)/2 cycles per p inputs.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..analysis.fourier import KEY_FREQUENCY_SHARE
from .style import (
    ACCENT,
    CMAP,
    KEY_COLOR,
    PLAIN_COLOR,
    SMALL,
    TRAIN_COLOR,
    heatmap,
    new_figure,
    panel_grid,
    shared_colorbar,
)

SHOWN_COMPONENTS = 10  # how many components the line-plot figure draws
FREQ_LABEL = "frequency k (cycles per {p})"


def _frequency_axis(ax, p: int) -> None:
    ax.set_xlabel(FREQ_LABEL.format(p=p))
    ax.set_xlim(0.3, (p - 1) / 2 + 0.7)


def _frequency_bars(ax, values: torch.Tensor, keys: list[int], annotate: bool = True) -> None:
    """Bars over k = 1 .. K with the key frequencies coloured and labelled above their bar."""
    K = len(values)
    ks = torch.arange(1, K + 1)
    colors = [KEY_COLOR if k in keys else PLAIN_COLOR for k in range(1, K + 1)]
    ax.bar(ks.numpy(), values.detach().float().numpy(), width=0.8, color=colors)
    if annotate:
        top = float(values.max())
        for k in keys:
            ax.annotate(str(k), (k, float(values[k - 1])), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=9, color=KEY_COLOR, fontweight="bold")
        ax.set_ylim(0, top * 1.15)


# ------------------------------------------------------------------ SVD figures
def plot_principal_components(pcs: torch.Tensor) -> Figure:
    """All principal components (p, r) over the input numbers, as one image."""
    fig, ax = new_figure(height=4.4)
    heatmap(ax, pcs, xlabel="principal component (in order of singular value)", ylabel="input number",
            title="W_E's principal components over the input numbers",
            colorbar_label="component value")
    return fig


def plot_singular_values(S: torch.Tensor, n_marked: int) -> Figure:
    """Singular values of W_E, largest first, on a log scale; the first ``n_marked`` highlighted."""
    fig, ax = new_figure(height=3.2)
    idx = torch.arange(len(S))
    ax.plot(idx.numpy(), S.numpy(), marker="o", markersize=3, color=TRAIN_COLOR, linewidth=1)
    ax.plot(idx[:n_marked].numpy(), S[:n_marked].numpy(), "o", color=KEY_COLOR, markersize=5,
            label=f"first {n_marked} components")
    ax.set_yscale("log")
    ax.set_xlabel("component index (0 = largest)")
    ax.set_ylabel("singular value (log scale)")
    ax.set_title("Singular values of W_E (number rows)")
    ax.legend()
    return fig


def plot_top_components(pcs: torch.Tensor, S: torch.Tensor, n: int = SHOWN_COMPONENTS) -> Figure:
    """The first ``n`` principal components as curves over the input numbers, one panel each.

    Each panel has its own vertical scale so that the weak components' shape shows too;
    the singular value in each title gives their size.
    """
    p = pcs.shape[0]
    rows = (n + 1) // 2
    fig, axes = new_figure(rows, 2, height=1.25 * rows + 0.6, sharex=True, squeeze=False)
    x = torch.arange(p).numpy()
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.set_visible(False)
            continue
        ax.plot(x, pcs[:, i].numpy(), color=TRAIN_COLOR, linewidth=1)
        ax.axhline(0, color=ACCENT, linewidth=0.5)
        ax.set_title(f"component {i}  (singular value {float(S[i]):.2f})", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("input number")
    for ax in axes[:, 0]:
        ax.set_ylabel("value")
    fig.suptitle(f"The first {n} principal components of W_E (own vertical scale per panel)")
    return fig


# ------------------------------------------------------------------ FFT figures
def plot_top_component_power(n: int, magnitude: torch.Tensor, keys: list[int]) -> Figure:
    """Power |rfft|^2 summed over the first ``n`` components, per frequency (scipy FFT).

    The arguments are :func:`grokking.analysis.embedding.leading_spectrum`'s result."""
    p = 2 * magnitude.shape[0] - 1
    power = magnitude[1:].pow(2).sum(1)
    fig, ax = new_figure(height=3.2)
    _frequency_bars(ax, power, keys)
    _frequency_axis(ax, p)
    ax.set_ylabel("power, summed over components")
    ax.set_title(f"scipy FFT of the first {n} principal components")
    return fig


def plot_component_spectra(n: int, magnitude: torch.Tensor, keys: list[int]) -> Figure:
    """|rfft| of each of the first ``n`` components, one panel per component
    (:func:`grokking.analysis.embedding.leading_spectrum`'s result)."""
    p = 2 * magnitude.shape[0] - 1
    fig, axes = new_figure(n, 1, height=0.85 * n + 0.8, sharex=True)
    for i, ax in enumerate(axes):
        _frequency_bars(ax, magnitude[1:, i], keys, annotate=False)
        ax.set_ylabel(str(i), rotation=0, ha="right", va="center")
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
    for k in keys:
        axes[0].annotate(str(k), (k, 1.0), xycoords=("data", "axes fraction"), ha="center", va="bottom",
                         fontsize=9, color=KEY_COLOR, fontweight="bold")
    _frequency_axis(axes[-1], p)
    fig.supylabel("principal component")
    fig.suptitle("|FFT| of each principal component (bar height: magnitude, own scale per row)")
    return fig


# ------------------------------------------------------------------ Fourier basis figures
def _frequency_extent(n_cols: int, p: int) -> tuple[float, float, float, float]:
    """imshow extent that puts basis row 2k-1 (cos k) and 2k (sin k) around y = k."""
    return (-0.5, n_cols - 0.5, -0.25, (p - 1) / 2 + 0.25)


def plot_fourier_basis(basis: torch.Tensor) -> Figure:
    """The basis matrix: one row per basis vector, one column per input number."""
    p = basis.shape[0]
    fig, ax = new_figure(height=4.8)
    heatmap(ax, basis, xlabel="input number x", ylabel=FREQ_LABEL.format(p=p) + "\n(cos k row, then sin k row)",
            title=f"The Fourier basis: each row a cosine or sine wave over 0 .. {p - 1}",
            colorbar_label="value of the basis vector", extent=_frequency_extent(p, p))
    return fig


def plot_embedding_in_fourier_basis(W_E_fourier: torch.Tensor, keys: list[int]) -> Figure:
    """|coefficients| of W_E in the Fourier basis: rows by frequency, columns by residual direction."""
    p, d_model = W_E_fourier.shape
    fig, ax = new_figure(height=4.8)
    heatmap(ax, W_E_fourier.abs(), xlabel="residual stream direction (column of W_E)",
            ylabel=FREQ_LABEL.format(p=p) + "\n(cos k row, then sin k row)",
            title="W_E in the Fourier basis", colorbar_label="|coefficient|",
            extent=_frequency_extent(d_model, p))
    ax.set_yticks(keys, [str(k) for k in keys], minor=True, color=KEY_COLOR, fontweight="bold")
    ax.tick_params(axis="y", which="minor", left=False, right=True, labelleft=False, labelright=True,
                   length=4, color=KEY_COLOR)
    return fig


def plot_embedding_frequency_norms(norms: torch.Tensor, keys: list[int],
                                   share: float = KEY_FREQUENCY_SHARE) -> Figure:
    """Norm of W_E's coefficients per frequency, with the level a key frequency must reach."""
    p = 2 * len(norms) + 1
    fig, ax = new_figure(height=3.2)
    _frequency_bars(ax, norms, keys)
    level = float(norms.double().pow(2).sum().mul(share).sqrt())
    ax.axhline(level, color=ACCENT, linestyle="--", linewidth=1)
    ax.annotate(f"{share:.0%} of the total power", (1.0, level), xycoords=("axes fraction", "data"),
                xytext=(0, 3), textcoords="offset points", ha="right", va="bottom", fontsize=9, color=ACCENT)
    _frequency_axis(ax, p)
    ax.set_ylabel("norm of cos k and sin k rows")
    ax.set_title("How much of W_E each frequency carries")
    return fig


def plot_embedding_circles(W_E: torch.Tensor, W_E_fourier: torch.Tensor, keys: list[int]) -> Figure:
    """Each number's embedding projected on the cos k and sin k directions: a circle per key frequency.

    The two directions are the unit vectors along W_E_fourier's cos k and sin k rows.
    Points are coloured by k x mod p, the position x's angle 2 pi k x / p predicts,
    so a smooth colour wheel means x sits at that angle; x = 0 and x = 1 are labelled.
    """
    p = W_E.shape[0]
    fig, panels, spares = panel_grid(len(keys), panel_height=2.7, extra_height=0.5)
    x = torch.arange(p)
    for ax, k in zip(panels, keys, strict=True):
        cos_dir = W_E_fourier[2 * k - 1] / W_E_fourier[2 * k - 1].norm()
        sin_dir = W_E_fourier[2 * k] / W_E_fourier[2 * k].norm()
        u, v = (W_E @ cos_dir).numpy(), (W_E @ sin_dir).numpy()
        points = ax.scatter(u, v, c=((k * x) % p).numpy(), cmap=CMAP, s=12, vmin=0, vmax=p - 1)
        for label in (0, 1):
            ax.annotate(f"x={label}", (u[label], v[label]), xytext=(4, 4), textcoords="offset points",
                        fontsize=SMALL, color="black",
                        bbox=dict(facecolor="white", alpha=0.7, edgecolor="none", pad=1))
        ax.set_aspect("equal", adjustable="datalim")
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.set_title(f"k = {k}")
        ax.set_xlabel(f"cos {k} direction")
        ax.set_ylabel(f"sin {k} direction")
    shared_colorbar(fig, points, panels, spares, f"k x mod {p}")
    fig.suptitle("Each number's embedding on the cos k and sin k directions of a key frequency k")
    return fig
