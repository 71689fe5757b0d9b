"""Training curves: loss, accuracy and weight norm over epochs, with the phases marked."""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure

from .style import ACCENT, TEST_COLOR, TRAIN_COLOR, label_phases, new_figure


def _np(t: torch.Tensor):
    return t.detach().cpu().double().numpy()


def _finish(ax, history, boundaries, ylabel: str, log_x: bool, title: str) -> None:
    epochs = history["epoch"]
    if log_x:
        ax.set_xscale("log")
        ax.set_xlim(float(epochs[epochs > 0][0]), float(epochs[-1]))
        ax.set_xlabel("epoch (full-batch optimiser steps, log scale)")
    else:
        ax.set_xlim(0, float(epochs[-1]))
        ax.set_xlabel("epoch (full-batch optimiser steps)")
    ax.set_ylabel(ylabel)
    label_phases(ax, boundaries)
    if title:  # above the phase names when they are drawn
        ax.set_title(title, pad=17 if boundaries else 6)


def plot_loss(history: dict[str, torch.Tensor], boundaries: dict[str, int] | None = None,
              p: int | None = None, title: str = "Train and test loss", log_x: bool = True) -> Figure:
    """Train and test cross-entropy loss on a log scale, with optional phase lines.

    With ``p`` given, a dotted line marks the chance-level loss ln p.
    """
    fig, ax = new_figure(height=3.8)
    x = _np(history["epoch"])
    ax.plot(x, _np(history["train_loss"]), color=TRAIN_COLOR, label="train", linewidth=1.4)
    ax.plot(x, _np(history["test_loss"]), color=TEST_COLOR, label="test", linewidth=1.4)
    ax.set_yscale("log")
    if p is not None:
        ax.axhline(math.log(p), color=ACCENT, linestyle=":", linewidth=1)
        ax.annotate(f"chance: ln {p}", (1.0, math.log(p)), xycoords=("axes fraction", "data"),
                    xytext=(-2, 3), textcoords="offset points", ha="right", va="bottom",
                    fontsize=9, color=ACCENT)
    _finish(ax, history, boundaries, "cross-entropy loss (nats, log scale)", log_x, title)
    ax.legend(loc="lower left")  # early on both losses are near ln p: room below
    return fig


def plot_accuracy(history: dict[str, torch.Tensor], boundaries: dict[str, int] | None = None,
                  title: str = "Train and test accuracy", log_x: bool = True) -> Figure:
    """Train and test accuracy (percent) over training, with optional phase lines."""
    fig, ax = new_figure(height=3.4)
    x = _np(history["epoch"])
    ax.plot(x, 100 * _np(history["train_acc"]), color=TRAIN_COLOR, label="train", linewidth=1.4)
    ax.plot(x, 100 * _np(history["test_acc"]), color=TEST_COLOR, label="test", linewidth=1.4)
    ax.set_ylim(-2, 102)
    _finish(ax, history, boundaries, "accuracy (%)", log_x, title)
    ax.legend(loc="center left")  # early on both accuracies are low or rising
    return fig


def plot_weight_norm(history: dict[str, torch.Tensor], boundaries: dict[str, int] | None = None,
                     title: str = "Size of the weights", log_x: bool = True) -> Figure:
    """The L2 norm of all trained parameters over training, with optional phase lines."""
    fig, ax = new_figure(height=3.2)
    ax.plot(_np(history["epoch"]), _np(history["weight_norm"]), color=TRAIN_COLOR, linewidth=1.4)
    _finish(ax, history, boundaries, "weight norm $\\|\\theta\\|_2$", log_x, title)
    return fig
