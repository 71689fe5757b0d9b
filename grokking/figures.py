"""Every figure of the book, by PNG file name: ``python -m grokking figures --out DIR``."""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path
from typing import Callable

from .context import RunContext
from .runs import Run

# Topic modules of grokking.plotting, in book order; each exposes FIGURES.
TOPICS = ("architecture", "training", "embeddings", "attention", "neurons", "logits", "trig", "progress")

# The 14 figures of the seed write-up, which must all be among the book's figures.
WRITEUP_FIGURES = (
    "model_high_level", "model", "log_loss", "principal_components_on_the_input", "singular_values",
    "principal_components_on_the_input_most_important", "key_frequencies",
    "key_frequencies_by_singular_value", "fourier_basis", "embedding_in_fourier_basis",
    "attention_for_each_head_from_a_to_equals", "attention_for_head_0_from_a_to_equals",
    "first_5_neuron_activations", "2d_fourier_transform_of_neuron_0",
)


def all_figures() -> dict[str, Callable]:
    figures: dict[str, Callable] = {}
    for topic in TOPICS:
        module = importlib.import_module(f".plotting.{topic}", __package__)
        for name, fn in module.FIGURES.items():
            if name in figures:
                raise ValueError(f"figure name {name!r} is defined twice")
            figures[name] = fn
    return figures


def write_all(run: Run, out: str | Path) -> list[Path]:
    """Draw every figure from ``run`` and save it as ``out/<name>.png`` (atomically)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(run)
    written = []
    for name, fn in all_figures().items():
        fig = fn(ctx)
        with tempfile.NamedTemporaryFile(dir=out, prefix=f".tmp-{name}.", suffix=".png", delete=False) as tmp:
            fig.savefig(tmp, format="png")
        final = out / f"{name}.png"
        Path(tmp.name).replace(final)
        written.append(final)
    return written
