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


def sweep_figures(seeds_dir: str | Path | None = None, phase_dir: str | Path | None = None) -> dict[str, Callable]:
    """The figures drawn from several runs (the seeds sweep, the phase grid), as zero-argument
    callables; a sweep whose results are not on disk contributes none."""
    from . import seeds, store, sweep
    from .plotting import phase as phase_plots
    from .plotting import seeds as seed_plots
    from .runs import REPO_ROOT

    figures: dict[str, Callable] = {}
    try:
        contexts = seeds.load_seed_contexts(seeds_dir or seeds.SEEDS_DIR)
    except store.RunError:
        contexts = None
    if contexts:
        figures.update({name: (lambda fn=fn: fn(contexts)) for name, fn in seed_plots.FIGURES.items()})
    try:
        rows = sweep.load_results(phase_dir or REPO_ROOT / "runs" / "phase")
    except sweep.SweepError:
        rows = None
    if rows:
        figures.update({name: (lambda fn=fn: fn(rows)) for name, fn in phase_plots.FIGURES.items()})
    return figures


def write_all(run: Run, out: str | Path, with_sweeps: bool = True) -> list[Path]:
    """Draw every figure from ``run`` (and, with ``with_sweeps``, from the committed sweeps)
    and save each as ``out/<name>.png`` (atomically)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(run)
    drawers = {name: (lambda fn=fn: fn(ctx)) for name, fn in all_figures().items()}
    if with_sweeps:
        drawers.update(sweep_figures())
    written = []
    for name, draw in drawers.items():
        fig = draw()
        with tempfile.NamedTemporaryFile(dir=out, prefix=f".tmp-{name}.", suffix=".png", delete=False) as tmp:
            fig.savefig(tmp, format="png")
        final = out / f"{name}.png"
        Path(tmp.name).replace(final)
        written.append(final)
    return written
