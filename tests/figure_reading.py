"""Reading a matplotlib figure back: what it drew, for the figure tests to compare with
what it was given (tests/unit/test_figures.py, tests/integration/test_figures_committed.py).
Importable from any test file: pytest puts tests/ (where conftest.py is) on sys.path."""

import numpy as np
import torch
from matplotlib.axes import Axes


def panels(fig) -> list:
    """The axes of ``fig`` that show an image (not the colour bars), in drawing order."""
    return [ax for ax in fig.axes if ax.images]


def image(ax) -> np.ndarray:
    """The data of the first image on ``ax`` (masked entries as NaN)."""
    return np.ma.filled(np.ma.asarray(ax.images[0].get_array(), dtype=float), np.nan)


def bar_heights(ax, container: int = 0) -> np.ndarray:
    return np.array([bar.get_height() for bar in ax.containers[container]])


def assert_drawn(drawn, expected) -> None:
    """What the figure holds equals what it was given (float32 drawing precision; NaN where NaN)."""
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().double().numpy()
    np.testing.assert_allclose(np.asarray(drawn, dtype=float), np.asarray(expected, dtype=float),
                               rtol=1e-5, atol=1e-6, equal_nan=True)


def colorbars(fig) -> list:
    """The colour bars' axes, inset ones (in a spare cell of a grid of panels) included."""
    return [ax for ax in fig.findobj(Axes) if getattr(ax, "_colorbar", None) is not None]
