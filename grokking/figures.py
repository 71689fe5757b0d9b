"""Every figure of the book, by PNG file name: ``python -m grokking figures --out DIR``.

This module is where figures meet runs: each entry computes what a figure needs from
a :class:`~grokking.analysis.context.RunContext` (or from the sweeps' results) and
hands it to a plotting function. To add a figure, write its drawing function in the
chapter's ``plotting`` module and register it here under its file name.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .analysis import phases, seeds, trig
from .analysis.attention import dominant_frequency
from .analysis.context import RunContext
from .analysis.neurons import NEURON_THRESHOLD, cluster_counts, example_neurons, mean_power_shares_2d
from .model import model_spec
from .plotting import architecture, attention, embeddings, logits, neurons, phase, progress, training
from .plotting import seeds as seed_plots
from .plotting import trig as trig_plots
from .runs import store
from .runs.load import Run
from .sweep import SweepError, load_results

# The 14 figures of the seed write-up, which must all be among the book's figures.
WRITEUP_FIGURES = (
    "model_high_level", "model", "log_loss", "principal_components_on_the_input", "singular_values",
    "principal_components_on_the_input_most_important", "key_frequencies",
    "key_frequencies_by_singular_value", "fourier_basis", "embedding_in_fourier_basis",
    "attention_for_each_head_from_a_to_equals", "attention_for_head_0_from_a_to_equals",
    "first_5_neuron_activations", "2d_fourier_transform_of_neuron_0",
)


def _relu_fits(ctx: RunContext):
    table = ctx.trig_table
    k = trig.largest_cluster(table)
    return trig_plots.plot_relu_fits(ctx.neuron_acts, table, k, trig.example_neurons(table)[k], by_angle=True)


def _example_neurons(ctx: RunContext) -> dict[int, int]:
    """The best-explained neuron of each key frequency's cluster: {k: neuron}."""
    return example_neurons(ctx.neuron_frequency_shares, ctx.key_frequencies)


def _example_neuron_maps(ctx: RunContext):
    """The example neurons over (a, b), each placed by angle on its own frequency."""
    picks = _example_neurons(ctx)
    return neurons.plot_neurons(ctx.neuron_acts, picks.values(), list(picks))


def _first_example_neuron(ctx: RunContext):
    """The 2D spectrum of the first example neuron (the figure keeps the write-up's file name)."""
    n = next(iter(_example_neurons(ctx).values()))
    return attention.plot_fourier_2d(ctx.fourier_spectrum_2d(ctx.neuron_acts[:, :, n]), ctx.key_frequencies,
                                     what=f"Neuron {n}")


def _head_0(ctx: RunContext):
    """Head 0 with a and b placed by their angle on the strongest frequency of its mean over b."""
    att = ctx.attention_to_a[0]
    return attention.plot_head(att, 0, k=dominant_frequency(att.mean(dim=1), ctx.basis))


# Figures of one run, in book order: file stem -> function of a RunContext returning a Figure.
RUN_FIGURES: dict[str, Callable] = {
    # the model
    "model_high_level": lambda ctx: architecture.draw_high_level(model_spec(ctx.model)),
    "model": lambda ctx: architecture.draw_detailed(model_spec(ctx.model)),
    "train_test_split": lambda ctx: architecture.plot_split(ctx.run.data.train_idx, ctx.p),
    # training
    "log_loss": lambda ctx: training.plot_loss(ctx.run.history, ctx.phase_boundaries, p=ctx.p),
    "training_accuracy": lambda ctx: training.plot_accuracy(ctx.run.history, ctx.phase_boundaries),
    "training_weight_norm": lambda ctx: training.plot_weight_norm(ctx.run.history, ctx.phase_boundaries),
    # embeddings
    "principal_components_on_the_input": lambda ctx: embeddings.plot_principal_components(ctx.principal_components),
    "singular_values": lambda ctx: embeddings.plot_singular_values(ctx.embedding_svd[1], ctx.n_leading_components),
    "principal_components_on_the_input_most_important": lambda ctx: embeddings.plot_top_components(
        ctx.principal_components, ctx.embedding_svd[1]),
    "key_frequencies": lambda ctx: embeddings.plot_top_component_power(*ctx.leading_spectrum),
    "key_frequencies_by_singular_value": lambda ctx: embeddings.plot_component_spectra(*ctx.leading_spectrum),
    "fourier_basis": lambda ctx: embeddings.plot_fourier_basis(ctx.basis),
    "embedding_in_fourier_basis": lambda ctx: embeddings.plot_embedding_in_fourier_basis(
        ctx.W_E_fourier, ctx.key_frequencies),
    "embedding_frequency_norms": lambda ctx: embeddings.plot_embedding_frequency_norms(
        ctx.embedding_frequency_norms, ctx.key_frequencies),
    "embedding_circles": lambda ctx: embeddings.plot_embedding_circles(ctx.W_E, ctx.W_E_fourier, ctx.key_frequencies),
    # attention
    "attention_for_each_head_from_a_to_equals": lambda ctx: attention.plot_heads(ctx.attention_to_a),
    "attention_for_head_0_from_a_to_equals": _head_0,
    "attention_head_0_fourier": lambda ctx: attention.plot_fourier_2d(
        ctx.fourier_spectrum_2d(ctx.attention_to_a[0]), ctx.key_frequencies, what="Head 0"),
    "attention_head_0_scores": lambda ctx: attention.plot_head_scores(
        ctx.attention_scores_to_a[:, 0], ctx.score_frequency_norms(0), ctx.key_frequencies, 0),
    "attention_key_frequency_share": lambda ctx: attention.plot_key_shares(ctx.head_key_shares, ctx.key_frequencies),
    # neurons
    "first_5_neuron_activations": _example_neuron_maps,  # the write-up's file name; one neuron per cluster
    "2d_fourier_transform_of_neuron_0": _first_example_neuron,
    "neuron_clusters": lambda ctx: neurons.plot_clusters(ctx.neuron_frequency_shares, ctx.neuron_order,
                                                         ctx.key_frequencies, NEURON_THRESHOLD),
    "neuron_cluster_sizes": lambda ctx: neurons.plot_cluster_sizes(ctx.cluster_sizes, ctx.n_unexplained_neurons,
                                                                   ctx.key_frequencies, NEURON_THRESHOLD),
    "neuron_mean_spectrum": lambda ctx: neurons.plot_mean_spectrum(
        mean_power_shares_2d(ctx.neuron_acts, ctx.basis), ctx.key_frequencies),
    # logits
    "unembed_in_fourier_basis": lambda ctx: logits.plot_unembed_fourier(ctx.W_L_fourier, ctx.neuron_order,
                                                                        ctx.key_frequencies),
    "unembed_frequency_norms": lambda ctx: logits.plot_unembed_norms(ctx.unembed_frequency_norms, ctx.key_frequencies),
    "logits_vs_cos_fit": lambda ctx: logits.plot_logits_vs_fit(ctx.logits, ctx.cos_fit["fitted"],
                                                               *ctx.first_test_pair, ctx.p),
    "cos_fit_alphas": lambda ctx: logits.plot_alphas(ctx.key_frequencies, ctx.cos_fit["alphas"]),
    "cos_terms_interference": lambda ctx: logits.plot_interference(
        ctx.key_frequencies, ctx.cos_fit["alphas"], ctx.cos_waves(sum(ctx.first_test_pair)), *ctx.first_test_pair),
    "cluster_ablation_loss": lambda ctx: logits.plot_cluster_ablation(ctx.cluster_ablation),
    # trig identities
    "trig_pre_activation_fit": lambda ctx: trig_plots.plot_pre_fit(ctx.neuron_pre, ctx.trig_table,
                                                                   trig.example_neurons(ctx.trig_table)),
    "trig_phase_match": lambda ctx: trig_plots.plot_phase_match(ctx.trig_table),
    "trig_relu_fits": _relu_fits,
    "trig_relu_r2": lambda ctx: trig_plots.plot_relu_r2(ctx.trig_table),
    "trig_unembed_phase": lambda ctx: trig_plots.plot_unembed_phase(trig.unembed_phases(ctx.W_L, ctx.trig_table)),
    "trig_cluster_readout": lambda ctx: trig_plots.plot_cluster_readout(
        ctx.cluster_logits, ctx.readout_fits, *trig.example_pair(ctx.p), ctx.p),
    "trig_sharpening": lambda ctx: trig_plots.plot_sharpening(
        *trig.sharpening(ctx.cluster_logits, ctx.logits, ctx.pairs[1])),
    "trig_clock": lambda ctx: trig_plots.plot_clock(ctx.cluster_logits, ctx.logits, *trig.example_pair(ctx.p), ctx.p),
    # progress measures
    "progress_measures": lambda ctx: progress.plot_progress_measures(ctx.progress, ctx.phase_boundaries, p=ctx.p),
    "embedding_norms_over_training": lambda ctx: progress.plot_embedding_norms_snapshots(
        ctx.progress, ctx.phase_boundaries, phases.snapshot_indices(ctx.progress, ctx.phase_boundaries)),
    "frequency_ablations": lambda ctx: progress.plot_ablation_losses(ctx.frequency_ablations, ctx.p),
    "circuit_formation_by_frequency": lambda ctx: progress.plot_circuit_formation(
        ctx.progress, cluster_counts(ctx.progress["neuron_cluster"], ctx.key_frequencies),
        ctx.key_frequencies, ctx.phase_boundaries),
    "unembed_norms_over_training": lambda ctx: progress.plot_unembed_norms_over_training(
        ctx.progress, ctx.key_frequencies, ctx.phase_boundaries),
}


def seed_figures(contexts: list[RunContext]) -> dict[str, Callable]:
    """The figures of the seeds chapter, as zero-argument callables."""
    labels = [seeds.run_label(c) for c in contexts]
    return {
        "seed_loss_curves": lambda: seed_plots.loss_curves([c.run.history for c in contexts], labels),
        "seed_frequency_fingerprints": lambda: seed_plots.frequency_fingerprints(
            np.stack([seeds.embedding_power(c).numpy() for c in contexts]),
            [c.key_frequencies for c in contexts], seeds.cross_fit(contexts).numpy(), labels),
    }


def phase_figures(rows: list[dict]) -> dict[str, Callable]:
    """The figures of the phase-diagram chapter, as zero-argument callables."""
    return {
        "phase_diagram": lambda: phase.phase_diagram(rows),
        "phase_epochs_to_accuracy": lambda: phase.epochs_to_accuracy(rows),
    }


def sweep_figures(seeds_dir: Path | None, phase_dir: Path | None, first: Path | None = None) -> dict[str, Callable]:
    """The figures drawn from several runs (the seeds sweep with ``first`` in front, the phase
    grid); a folder that is None or holds no results contributes none."""
    figures: dict[str, Callable] = {}
    if seeds_dir is not None:
        with contextlib.suppress(store.RunError):
            figures.update(seed_figures(seeds.load_seed_contexts(seeds_dir, first)))
    if phase_dir is not None:
        with contextlib.suppress(SweepError):
            figures.update(phase_figures(load_results(phase_dir)))
    return figures


def save_png(fig, path: Path) -> Path:
    """Save ``fig`` as ``path`` (PNG), atomically: a temporary file beside it, then a rename."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".tmp-{path.stem}.", suffix=".png",
                                     delete=False) as tmp:
        fig.savefig(tmp, format="png")
    Path(tmp.name).replace(path)
    return path


def write_all(run: Run, out: str | Path, seeds_dir: Path | None = None, phase_dir: Path | None = None) -> list[Path]:
    """Draw every figure of ``run`` (and of the sweeps in ``seeds_dir`` and ``phase_dir``, when
    given) and save each as ``out/<name>.png``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(run)
    drawers = {name: (lambda fn=fn: fn(ctx)) for name, fn in RUN_FIGURES.items()}
    drawers.update(sweep_figures(seeds_dir, phase_dir, run.path))
    return [save_png(draw(), out / f"{name}.png") for name, draw in drawers.items()]
