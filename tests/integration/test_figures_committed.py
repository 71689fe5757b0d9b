"""Every figure of the book drawn from the committed run, through grokking.figures: each one
holds what the run's analyses computed (lines, bars, images, points), labelled with the run's
own numbers (key frequencies, pairs, sizes), its labels do not collide, and its smallest text
is legible at the width the book shows it."""

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from figure_reading import assert_drawn, bar_heights, colorbars, image, panels
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba

from grokking.analysis import phases, trig
from grokking.analysis.attention import dominant_frequency
from grokking.analysis.context import RunContext
from grokking.analysis.fourier import KEY_FREQUENCY_SHARE
from grokking.analysis.neurons import NEURON_THRESHOLD, example_neurons
from grokking.data import pair_index, split_grid
from grokking.figures import RUN_FIGURES, sweep_figures
from grokking.plotting.embeddings import SHOWN_COMPONENTS
from grokking.plotting.style import KEY_COLOR, MIN_TEXT_PX, PAGE_PX, STYLE

ROOT = Path(__file__).resolve().parents[2]
SAVE_DPI = STYLE["savefig.dpi"]  # the book shows each figure's PNG as saved at this dpi ...
PAD_INCHES = 0.1  # ... with bbox "tight" and matplotlib's default padding


@pytest.fixture(scope="module")
def drawn(canonical, new_float64_watch):
    """Every RUN_FIGURES entry drawn once from a fresh context of the committed run, under a
    Float64Watch: ``(largest float64 tensor made, the context, {name: Figure or the exception raised})``."""
    ctx = RunContext(canonical)
    _ = ctx.logits  # computed before the watch: the activations are not a figure's own
    results = {}
    with new_float64_watch() as watch:
        _ = ctx.cos_fit, ctx.neuron_frequency_shares  # the analyses the figures share
        for name, figure in RUN_FIGURES.items():
            try:
                results[name] = figure(ctx)
            except Exception as exc:
                results[name] = exc
    yield watch.largest, ctx, results
    plt.close("all")


# ------------------------------------------------------------------ reading a figure back
def plain_axes(fig) -> list:
    """The visible axes that are not colour bars."""
    return [ax for ax in fig.axes if ax.get_visible() and getattr(ax, "_colorbar", None) is None]


def lines_by_label(ax) -> dict:
    return {line.get_label(): line for line in ax.lines}


def dashed_epochs(ax) -> list[float]:
    return sorted(float(line.get_xdata()[0]) for line in ax.lines if line.get_linestyle() == "--")


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text().strip()]


def ticklabels(ax, axis: str = "x", minor: bool = False) -> list[str]:
    ticks = ax.get_xticklabels(minor=minor) if axis == "x" else ax.get_yticklabels(minor=minor)
    return [t.get_text() for t in ticks]


def all_ticklabels(ax, axis: str = "x") -> list[str]:
    """The labels of the major and minor ticks of one axis, in order along it."""
    which = ax.xaxis if axis == "x" else ax.yaxis
    ticks = [(float(x), t.get_text()) for minor in (False, True)
             for x, t in zip(which.get_ticklocs(minor=minor), which.get_ticklabels(minor=minor), strict=True)]
    return [text for _, text in sorted(ticks) if text]


def key_bars_coloured(ax, keys, container: int = 0) -> None:
    """Bar k (1-based) is in the key colour exactly when k is a key frequency."""
    key = to_rgba(KEY_COLOR)
    coloured = [k for k, bar in enumerate(ax.containers[container], start=1) if bar.get_facecolor() == key]
    assert coloured == sorted(keys), coloured


# ------------------------------------------------------------------ the checks, one per figure
def _high_level(fig, ctx):
    c = ctx.config
    joined = "\n".join(texts(fig))
    assert f"{c.n_heads} heads × {c.d_head} dims" in joined
    assert f"MLP: {c.d_model} → {c.d_mlp} → {c.d_model}" in joined
    assert f"{c.d_model} → {c.p}" in joined  # the unembedding, to the p answers
    assert f"one score per answer 0 … {c.p - 1}" in joined


def _detailed(fig, ctx):
    c = ctx.config
    strings = texts(fig)
    for name, shape in (("$W_{E}$", (c.p + 1, c.d_model)), ("$W_{pos}$", (3, c.d_model)),
                        ("$W_{Q}$", (c.n_heads, c.d_model, c.d_head)), ("$W_{in}$", (c.d_model, c.d_mlp)),
                        ("$W_{out}$", (c.d_mlp, c.d_model)), ("$W_{U}$", (c.d_model, c.p))):
        assert f"{name}\n{' × '.join(map(str, shape))}" in strings, name
    assert any(f"{c.d_mlp} × {c.p}: neurons → logits" in s for s in strings)  # W_L


def _split(fig, ctx):
    (ax,) = panels(fig)
    train = ctx.run.data.train_idx
    assert_drawn(image(ax), split_grid(train, ctx.p))
    assert image(ax).sum() == len(train)
    assert ax.get_title() == f"Training pairs: {len(train)} of {ctx.p**2}"
    assert len(colorbars(fig)) == 1


def _history_figure(keys, scale=1.0):
    def check(fig, ctx):
        (ax,) = fig.axes
        history = ctx.run.history
        for line, key in zip(ax.lines, keys, strict=False):
            assert_drawn(line.get_xdata(), history["epoch"])
            assert_drawn(line.get_ydata(), scale * history[key].double())
        assert dashed_epochs(ax) == sorted(float(e) for e in ctx.phase_boundaries.values())
        assert ax.get_xscale() == "log"
    return check


def _log_loss(fig, ctx):
    _history_figure(["train_loss", "test_loss"])(fig, ctx)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert f"chance: ln {ctx.p}" in [t.get_text() for t in ax.texts]
    chance = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert [float(line.get_ydata()[0]) for line in chance] == pytest.approx([math.log(ctx.p)])


def _principal_components(fig, ctx):
    (ax,) = panels(fig)
    assert image(ax).shape == tuple(ctx.principal_components.shape)
    assert_drawn(image(ax), ctx.principal_components)


def _singular_values(fig, ctx):
    (ax,) = fig.axes
    S, n = ctx.embedding_svd[1], ctx.n_leading_components
    assert_drawn(ax.lines[0].get_ydata(), S)
    assert_drawn(ax.lines[1].get_ydata(), S[:n])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [f"first {n} components"]


def _top_components(fig, ctx):
    axes = plain_axes(fig)
    S = ctx.embedding_svd[1]
    assert len(axes) == SHOWN_COMPONENTS
    for i, ax in enumerate(axes):
        assert_drawn(ax.lines[0].get_ydata(), ctx.principal_components[:, i])
        assert ax.get_title() == f"component {i}  (singular value {float(S[i]):.2f})"


def _component_power(fig, ctx):
    (ax,) = fig.axes
    n, magnitude, keys = ctx.leading_spectrum
    assert keys == ctx.key_frequencies  # the SVD route finds the same frequencies
    assert_drawn(bar_heights(ax), magnitude[1:].pow(2).sum(1))
    key_bars_coloured(ax, keys)
    assert sorted(int(t.get_text()) for t in ax.texts) == sorted(keys)
    assert ax.get_title() == f"scipy FFT of the first {n} principal components"


def _component_spectra(fig, ctx):
    n, magnitude, keys = ctx.leading_spectrum
    axes = [ax for ax in fig.axes if ax.containers]
    assert len(axes) == n
    for i, ax in enumerate(axes):
        assert_drawn(bar_heights(ax), magnitude[1:, i])
        key_bars_coloured(ax, keys)
    assert sorted(int(t.get_text()) for t in axes[0].texts) == sorted(keys)


def _fourier_basis(fig, ctx):
    (ax,) = panels(fig)
    assert image(ax).shape == (ctx.p, ctx.p)
    assert_drawn(image(ax), ctx.basis)


def _embedding_in_fourier_basis(fig, ctx):
    (ax,) = panels(fig)
    assert image(ax).shape == (ctx.p, ctx.config.d_model)
    assert_drawn(image(ax), ctx.W_E_fourier.abs())
    assert list(ax.get_yticks(minor=True)) == ctx.key_frequencies
    assert ticklabels(ax, "y", minor=True) == [str(k) for k in ctx.key_frequencies]


def _embedding_frequency_norms(fig, ctx):
    (ax,) = fig.axes
    norms = ctx.embedding_frequency_norms
    assert_drawn(bar_heights(ax), norms)
    key_bars_coloured(ax, ctx.key_frequencies)
    (level,) = [float(line.get_ydata()[0]) for line in ax.lines if line.get_linestyle() == "--"]
    assert level == pytest.approx(math.sqrt(KEY_FREQUENCY_SHARE * float(norms.double().pow(2).sum())))
    # every key frequency reaches the level, no other frequency does
    above = [k for k, h in enumerate(bar_heights(ax), start=1) if h >= level]
    assert above == sorted(ctx.key_frequencies)


def _embedding_circles(fig, ctx):
    axes = [ax for ax in fig.axes if ax.collections and getattr(ax, "_colorbar", None) is None]
    assert [ax.get_title() for ax in axes] == [f"k = {k}" for k in ctx.key_frequencies]
    for ax, k in zip(axes, ctx.key_frequencies, strict=True):
        cos_dir = ctx.W_E_fourier[2 * k - 1] / ctx.W_E_fourier[2 * k - 1].norm()
        sin_dir = ctx.W_E_fourier[2 * k] / ctx.W_E_fourier[2 * k].norm()
        points = ax.collections[0]
        assert_drawn(points.get_offsets(), torch.stack([ctx.W_E @ cos_dir, ctx.W_E @ sin_dir], 1))
        assert_drawn(points.get_array(), (k * torch.arange(ctx.p)) % ctx.p)
    assert len(colorbars(fig)) == 1


def _attention_heads(fig, ctx):
    maps = panels(fig)
    assert len(maps) == ctx.config.n_heads == len(colorbars(fig))
    for h, ax in enumerate(maps):
        assert image(ax).shape == (ctx.p, ctx.p)
        assert_drawn(image(ax), ctx.attention_to_a[h])
        assert ax.get_title() == f"Head {h}"


def _attention_head(fig, ctx):
    att = ctx.attention_to_a[0]
    k = dominant_frequency(att.mean(dim=1), ctx.basis)
    assert k in ctx.key_frequencies
    order = trig.by_angle(k, ctx.p)  # a and b placed by their angle on the head's strongest frequency
    (left,) = panels(fig)
    assert_drawn(image(left), att[order][:, order])
    right = next(ax for ax in fig.axes if ax.lines)
    assert_drawn(right.lines[0].get_ydata(), att.mean(dim=1)[order])
    assert right.get_xlabel() == left.get_ylabel() == f"{k}·a mod {ctx.p}"


def _fourier_2d(grid, what):
    def check(fig, ctx):
        full, zoom = panels(fig)
        spectrum = ctx.fourier_spectrum_2d(grid(ctx))
        assert image(full).shape == ((ctx.p + 1) // 2,) * 2
        assert image(zoom).shape == (1 + 2 * len(ctx.key_frequencies),) * 2
        assert_drawn(image(full), spectrum["by_frequency"])
        assert_drawn(image(zoom), spectrum["zoom"])
        assert ticklabels(full)[0] == "const"  # then round frequencies; the key ones marked, unlabelled
        assert list(full.get_xticks(minor=True)) == list(full.get_yticks(minor=True)) == ctx.key_frequencies
        assert [t.replace("\n", " ") for t in ticklabels(zoom)] == spectrum["zoom_labels"]
        assert full.get_title().startswith(what)
        # the largest variation of the grid is at a key frequency (over a, b or both)
        values = np.nan_to_num(image(full), nan=-1.0)
        i, j = np.unravel_index(values.argmax(), values.shape)
        assert {int(i), int(j)} & set(ctx.key_frequencies), (i, j)
    return check


def _head_scores(fig, ctx):
    left, right = fig.axes
    assert_drawn(left.lines[0].get_ydata(), ctx.attention_scores_to_a[:, 0])
    assert_drawn(bar_heights(right), ctx.score_frequency_norms(0))
    assert sorted(int(t.get_text()) for t in right.texts) == sorted(ctx.key_frequencies)


def _key_shares(fig, ctx):
    (ax,) = fig.axes
    assert_drawn(bar_heights(ax), ctx.head_key_shares)
    assert ax.get_title() == "Variance in key frequencies " + ", ".join(map(str, ctx.key_frequencies))
    assert [t.get_text() for t in ax.texts] == [f"{float(s):.1%}" for s in ctx.head_key_shares]


def _neurons(fig, ctx):
    picks = example_neurons(ctx.neuron_frequency_shares, ctx.key_frequencies)
    assert list(picks) == ctx.key_frequencies  # every key frequency has a cluster
    maps = panels(fig)
    assert len(maps) == len(picks)
    dominant, explained = ctx.neuron_clusters
    for ax, (k, n) in zip(maps, picks.items(), strict=True):
        order = trig.by_angle(k, ctx.p)
        assert_drawn(image(ax), ctx.neuron_acts[:, :, n][order][:, order])
        assert ax.get_title() == f"Neuron {n} (k = {k})"
        # a single-frequency neuron, the best explained of its cluster
        assert int(dominant[n]) == k and bool(explained[n])
        members = ((dominant == k) & explained).nonzero().flatten()
        assert float(ctx.neuron_frequency_shares[n, k - 1]) == float(ctx.neuron_frequency_shares[members, k - 1].max())


def _example_neuron(ctx):
    return ctx.neuron_acts[:, :, next(iter(example_neurons(ctx.neuron_frequency_shares, ctx.key_frequencies).values()))]


def _neuron_clusters(fig, ctx):
    shares, d_mlp = ctx.neuron_frequency_shares, ctx.config.d_mlp
    left = next(ax for ax in fig.axes if ax.lines and not ax.images)
    (right,) = panels(fig)
    assert_drawn(left.lines[0].get_ydata(), shares.max(dim=1).values.sort(descending=True).values)
    assert image(right).shape == (d_mlp, (ctx.p - 1) // 2)
    assert_drawn(image(right), shares[ctx.neuron_order])
    explained = d_mlp - ctx.n_unexplained_neurons
    assert f"{explained} of {d_mlp} neurons above it" in [t.get_text() for t in left.get_legend().get_texts()]
    assert f"threshold {NEURON_THRESHOLD:.0%}" in [t.get_text() for t in left.get_legend().get_texts()]


def _cluster_sizes(fig, ctx):
    (ax,) = fig.axes
    ks = sorted(ctx.cluster_sizes)
    assert_drawn(bar_heights(ax), [ctx.cluster_sizes[k] for k in ks] + [ctx.n_unexplained_neurons])
    assert bar_heights(ax).sum() == ctx.config.d_mlp
    assert ticklabels(ax) == [str(k) for k in ks] + ["none"]
    assert set(ks) == set(ctx.key_frequencies)  # every explained neuron is in a key-frequency cluster


def _unembed_fourier(fig, ctx):
    (ax,) = panels(fig)
    assert image(ax).shape == (ctx.config.d_mlp, ctx.p)
    assert_drawn(image(ax), ctx.W_L_fourier.abs()[ctx.neuron_order])
    assert all_ticklabels(ax) == [str(k) for k in sorted(ctx.key_frequencies)]


def _unembed_norms(fig, ctx):
    (ax,) = fig.axes
    assert_drawn(bar_heights(ax), ctx.unembed_frequency_norms)
    key_bars_coloured(ax, ctx.key_frequencies)
    assert sorted(int(t.get_text()) for t in ax.texts) == sorted(ctx.key_frequencies)


def _logits_vs_fit(fig, ctx):
    (ax,) = fig.axes
    a, b = ctx.first_test_pair
    row = pair_index(a, b, ctx.p)
    logits = ctx.logits[row].double()
    assert_drawn(ax.lines[0].get_ydata(), ctx.cos_fit["fitted"][row])
    model = ax.collections[0].get_offsets()[:, 1]
    assert_drawn(model, logits - logits.mean())
    answer = (a + b) % ctx.p
    assert int(np.argmax(model)) == answer  # the model is right on this test pair, and the figure shows it
    assert dashed_epochs(ax) == [answer]
    assert ax.get_title() == f"Logits for a = {a}, b = {b}: model and cos fit"


def _alphas(fig, ctx):
    (ax,) = fig.axes
    assert_drawn(bar_heights(ax), ctx.cos_fit["alphas"])
    assert ticklabels(ax) == [str(k) for k in ctx.key_frequencies]


def _interference(fig, ctx):
    a, b = ctx.first_test_pair
    keys, alphas = ctx.key_frequencies, torch.as_tensor(ctx.cos_fit["alphas"]).double()
    waves = ctx.cos_waves(a + b).double()
    axes = fig.axes
    assert len(axes) == len(keys) + 1
    for ax, k, wave, alpha in zip(axes, keys, waves, alphas, strict=False):
        assert_drawn(ax.lines[0].get_ydata(), wave)
        assert ax.get_ylabel() == f"k = {k}"
        assert ax.get_title(loc="left").endswith(f"= {float(alpha):.1f}")
    total = axes[-1].lines[0].get_ydata()
    assert_drawn(total, (alphas[:, None] * waves).sum(0))
    assert int(np.argmax(total)) == (a + b) % ctx.p


def _cluster_ablation(fig, ctx):
    (ax,) = fig.axes
    result = ctx.cluster_ablation
    clusters = result["clusters"]
    assert_drawn(bar_heights(ax), [loss for _, loss, _ in clusters.values()] + [result["unexplained"][1]])
    assert ticklabels(ax) == [f"k = {k}" for k in clusters] + ["no frequency"]
    assert [t.get_text() for t in ax.texts] == [f"{n} neurons" for n, _, _ in
                                                [*clusters.values(), result["unexplained"]]]
    baseline = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert [float(line.get_ydata()[0]) for line in baseline] == pytest.approx([result["baseline"][0]])


def _pre_fit(fig, ctx):
    table, pre = ctx.trig_table, ctx.neuron_pre
    picks = trig.example_neurons(table)
    maps = panels(fig)
    assert len(maps) == 2 * len(picks)
    actual, fits = maps[0::2], maps[1::2]  # per cluster, a neuron beside its fit
    for j, k in enumerate(picks):
        n, order = int(table[k]["neurons"][picks[k]]), trig.by_angle(k, ctx.p)
        assert_drawn(image(actual[j]), pre[:, :, n][order][:, order])
        assert_drawn(image(fits[j]), table[k]["waves"]["fitted"][:, :, picks[k]][order][:, order])
        assert actual[j].get_title() == f"neuron {n} (k = {k})"
        assert fits[j].get_title().startswith("wave fit")
        assert actual[j].images[0].get_clim() == fits[j].images[0].get_clim()  # one colour scale per pair


def _phase_match(fig, ctx):
    left, right = fig.axes
    table = ctx.trig_table
    assert len(left.collections) == len(table) == len(right.collections)
    for k, amps, angles in zip(table, left.collections, right.collections, strict=True):
        w = table[k]["waves"]
        assert_drawn(amps.get_offsets(), torch.stack([w["amp_a"], w["amp_b"]], 1))
        assert_drawn(angles.get_offsets(), torch.stack([w["phase_a"], w["phase_b"]], 1))
        assert amps.get_label() == f"k = {k}"


def _relu_fits(fig, ctx):
    table = ctx.trig_table
    k = trig.largest_cluster(table)
    i = trig.example_neurons(table)[k]
    n = int(table[k]["neurons"][i])
    order = trig.by_angle(k, ctx.p)  # placed by angle, as the pre-activation figure
    actual, without, with_ = panels(fig)
    assert_drawn(image(actual), ctx.neuron_acts[:, :, n][order][:, order])
    assert_drawn(image(without), table[k]["without"]["fitted"][:, :, i][order][:, order])
    assert_drawn(image(with_), table[k]["with"]["fitted"][:, :, i][order][:, order])
    assert fig.get_suptitle().startswith(f"Neuron {n} (k = {k})")
    assert k == max(ctx.cluster_sizes, key=ctx.cluster_sizes.get)


def _relu_r2(fig, ctx):
    (ax,) = fig.axes
    table = ctx.trig_table
    assert len(ax.containers) == 3
    for s, key in enumerate(("r2_waves", "r2_without", "r2_with")):
        assert_drawn(bar_heights(ax, s), [table[k][key] for k in table])
    assert ticklabels(ax) == [f"k = {k}\n({len(table[k]['neurons'])} neurons)" for k in table]


def _unembed_phase(fig, ctx):
    (ax,) = fig.axes
    wanted = trig.unembed_phases(ctx.W_L, ctx.trig_table)
    assert len(ax.collections) == len(wanted)
    for (k, (twice, written)), points in zip(wanted.items(), ax.collections, strict=True):
        assert_drawn(points.get_offsets(), torch.stack([twice, written], 1))
        assert points.get_label() == f"k = {k}"


def _cluster_readout(fig, ctx):
    a, b = trig.example_pair(ctx.p)
    row = pair_index(a, b, ctx.p)
    axes = [ax for ax in fig.axes if ax.lines]
    assert len(axes) == len(ctx.cluster_logits)
    for ax, (k, logits) in zip(axes, ctx.cluster_logits.items(), strict=True):
        order = trig.by_angle(k, ctx.p)
        values = logits[row].double()
        assert_drawn(ax.lines[0].get_ydata(), ctx.readout_fits[k]["fitted"][row][order])
        assert_drawn(ax.collections[0].get_offsets()[:, 1], (values - values.mean())[order])
        assert ax.get_title().startswith(f"k = {k}: ")
        assert f"{float(ctx.readout_fits[k]['alphas'][0]):.1f}" in ax.get_title()


def _sharpening(fig, ctx):
    left, right = fig.axes
    accuracy, margin = trig.sharpening(ctx.cluster_logits, ctx.logits, ctx.pairs[1])
    assert_drawn(bar_heights(left), [100 * v for v in accuracy.values()])
    assert_drawn(bar_heights(right), list(margin.values()))
    assert ticklabels(left) == list(accuracy)
    assert bar_heights(left)[-1] > 99  # the whole model: the right answer on top for (nearly) every pair


def _clock(fig, ctx):
    a, b = trig.example_pair(ctx.p)
    row, answer = pair_index(a, b, ctx.p), (a + b) % ctx.p
    faces = [ax for ax in fig.axes if ax.get_title().startswith("k = ")]
    assert len(faces) == len(ctx.cluster_logits)
    bottom = next(ax for ax in fig.axes if "sum of the clusters" in lines_by_label(ax))
    total = np.zeros(ctx.p)
    for face, (k, values) in zip(faces, ctx.cluster_logits.items(), strict=True):
        centred = values[row].double() - values[row].double().mean()
        assert_drawn(face.collections[0].get_array(), centred / centred.abs().max())
        assert_drawn(lines_by_label(bottom)[f"cluster k = {k}"].get_ydata(), centred)
        assert face.get_title() == (f"k = {k}\n{k}·{a} ≡ {k * a % ctx.p}\n{k}·{b} ≡ {k * b % ctx.p}\n"
                                    f"sum ≡ {k * (a + b) % ctx.p} ≡ {k}·{answer}")
        total += centred.numpy()
    assert_drawn(lines_by_label(bottom)["sum of the clusters"].get_ydata(), total)
    assert f"argmax: c = {answer} = ({a}+{b}) mod {ctx.p}" in [t.get_text() for t in bottom.texts]
    # the count of clusters comes from the run (five key frequencies here), never a fixed word
    n = len(ctx.cluster_logits)
    assert bottom.get_title() == f"Logits over c: the {n} clusters' waves agree only at the answer"
    assert len(colorbars(fig)) == 1


def _progress_measures(fig, ctx):
    progress = ctx.progress
    top, middle, low = fig.axes
    for ax, keys in ((top, ("train_loss", "test_loss", "restricted_loss", "excluded_loss")),
                     (middle, ("gini_W_E", "gini_W_L")), (low, ("sum_sq_weights",))):
        solid = [line for line in ax.lines if line.get_linestyle() == "-"]
        assert len(solid) == len(keys)
        for line, key in zip(solid, keys, strict=True):
            assert_drawn(line.get_xdata(), progress["epoch"])
            assert_drawn(line.get_ydata(), progress[key])
        assert dashed_epochs(ax) == sorted(float(e) for e in ctx.phase_boundaries.values())


def _norm_snapshots(fig, ctx):
    progress = ctx.progress
    indices = phases.snapshot_indices(progress, ctx.phase_boundaries)
    axes = plain_axes(fig)
    assert len(axes) == len(indices)
    keys = [int(k) for k in progress["key_frequencies"]]
    for ax, i in zip(axes, indices, strict=True):
        assert_drawn(bar_heights(ax), progress["W_E_freq_norms"][i])
        key_bars_coloured(ax, keys)
        assert ax.get_title().startswith(f"epoch {int(progress['epoch'][i]):,}\n")
    assert sorted(keys) == sorted(ctx.key_frequencies)  # the final key frequencies, tracked back in time


def _circuit_formation(fig, ctx):
    progress = ctx.progress
    top, low = fig.axes
    keys = ctx.key_frequencies
    for j, (line, k) in enumerate(zip(top.lines[: len(keys)], keys, strict=True)):
        assert line.get_label() == f"without k = {k}"
        assert_drawn(line.get_xdata(), progress["epoch"])
        assert_drawn(line.get_ydata(), progress["excluded_loss_per_key"][:, j])
    # the neuron counts, recounted here from the stored clusters: every neuron in one group
    cluster = progress["neuron_cluster"].long()
    expected = [(cluster == k).sum(1) for k in keys]
    expected.append(((cluster > 0) & ~torch.isin(cluster, torch.tensor(keys))).sum(1))
    expected.append((cluster == 0).sum(1))
    drawn = low.lines[: len(expected)]
    for line, values in zip(drawn, expected, strict=True):
        assert_drawn(line.get_ydata(), values)
    assert sum(np.asarray(line.get_ydata()) for line in drawn).tolist() == [ctx.model.cfg.d_mlp] * len(cluster)
    for ax in (top, low):
        assert dashed_epochs(ax) == sorted(float(e) for e in ctx.phase_boundaries.values())


def _unembed_norms_over_training(fig, ctx):
    ax = panels(fig)[0]
    assert_drawn(image(ax), ctx.progress["W_L_freq_norms"].T)
    assert [int(t) for t in ax.get_yticks()] == ctx.key_frequencies
    assert len(colorbars(fig)) == 1


def _mean_spectrum(fig, ctx):
    ax = panels(fig)[0]
    # recomputed here: per neuron, the power at each frequency pair over its variance, averaged
    coeffs = ctx.basis.double() @ ctx.neuron_acts.double().permute(2, 0, 1) @ ctx.basis.double().t()
    K = (ctx.p + 1) // 2
    group = torch.nn.functional.one_hot(torch.tensor([0] + [k for k in range(1, K) for _ in (0, 1)]), K).double()
    power = group.t() @ coeffs.pow(2) @ group  # (neurons, K, K): cos and sin of each frequency pooled
    total = power.sum(dim=(1, 2)) - power[:, 0, 0]
    shares = power / total.clamp_min(1e-30)[:, None, None]
    shares[:, 0, 0] = 0
    shares[total <= 0] = 0
    assert_drawn(image(ax), shares.mean(0))
    assert sorted(ax.xaxis.get_minorticklocs().tolist()) == sorted(ctx.key_frequencies)


def _frequency_ablations(fig, ctx):
    (ax,) = fig.axes
    rows = ctx.frequency_ablations
    for container, split in zip(ax.containers, ("all pairs", "test pairs"), strict=True):
        assert_drawn([bar.get_width() for bar in container], [rows[n][split] for n in rows])
    assert ticklabels(ax, "y") == list(rows)
    assert ax.get_xscale() == "log"


CHECKS = {
    "model_high_level": _high_level,
    "model": _detailed,
    "train_test_split": _split,
    "log_loss": _log_loss,
    "training_accuracy": _history_figure(["train_acc", "test_acc"], scale=100.0),
    "training_weight_norm": _history_figure(["weight_norm"]),
    "principal_components_on_the_input": _principal_components,
    "singular_values": _singular_values,
    "principal_components_on_the_input_most_important": _top_components,
    "key_frequencies": _component_power,
    "key_frequencies_by_singular_value": _component_spectra,
    "fourier_basis": _fourier_basis,
    "embedding_in_fourier_basis": _embedding_in_fourier_basis,
    "embedding_frequency_norms": _embedding_frequency_norms,
    "embedding_circles": _embedding_circles,
    "attention_for_each_head_from_a_to_equals": _attention_heads,
    "attention_for_head_0_from_a_to_equals": _attention_head,
    "attention_head_0_fourier": _fourier_2d(lambda ctx: ctx.attention_to_a[0], "Head 0"),
    "attention_head_0_scores": _head_scores,
    "attention_key_frequency_share": _key_shares,
    "first_5_neuron_activations": _neurons,
    "2d_fourier_transform_of_neuron_0": _fourier_2d(_example_neuron, "Neuron "),
    "neuron_clusters": _neuron_clusters,
    "neuron_cluster_sizes": _cluster_sizes,
    "neuron_mean_spectrum": _mean_spectrum,
    "unembed_in_fourier_basis": _unembed_fourier,
    "unembed_frequency_norms": _unembed_norms,
    "logits_vs_cos_fit": _logits_vs_fit,
    "cos_fit_alphas": _alphas,
    "cos_terms_interference": _interference,
    "cluster_ablation_loss": _cluster_ablation,
    "trig_pre_activation_fit": _pre_fit,
    "trig_phase_match": _phase_match,
    "trig_relu_fits": _relu_fits,
    "trig_relu_r2": _relu_r2,
    "trig_unembed_phase": _unembed_phase,
    "trig_cluster_readout": _cluster_readout,
    "trig_sharpening": _sharpening,
    "trig_clock": _clock,
    "progress_measures": _progress_measures,
    "embedding_norms_over_training": _norm_snapshots,
    "frequency_ablations": _frequency_ablations,
    "circuit_formation_by_frequency": _circuit_formation,
    "unembed_norms_over_training": _unembed_norms_over_training,
}


def test_every_run_figure_has_a_check():
    assert list(CHECKS) == list(RUN_FIGURES), "add a check of what the new figure draws"


@pytest.mark.parametrize("name", list(RUN_FIGURES))
def test_every_run_figure_draws_the_committed_runs_results(drawn, name):
    _, ctx, results = drawn
    result = results[name]
    if isinstance(result, Exception):
        raise result
    CHECKS[name](result, ctx)


@pytest.mark.parametrize("name", list(RUN_FIGURES))
def test_run_figure_labels_do_not_collide(drawn, name, overlapping_texts):
    result = drawn[2][name]
    if isinstance(result, Exception):
        raise result
    assert overlapping_texts(result) == []


# ------------------------------------------------------------------ legible at the page's width
def rendered_texts(fig) -> tuple[list[tuple[float, str]], float]:
    """Every text the figure draws, as (size in points, text), and the width in inches of the
    PNG the book shows (the tight bounding box plus padding). Recorded from the renderer
    itself, so that only what is drawn counts: tick labels outside the view, hidden axes
    and blank strings do not."""
    canvas = FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    drawn, original = [], renderer.draw_text

    def record(gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if s.strip():
            drawn.append((prop.get_size_in_points(), s))
        return original(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    renderer.draw_text = record
    try:
        fig.draw(renderer)
    finally:
        del renderer.draw_text
    return drawn, fig.get_tightbbox(renderer).width + 2 * PAD_INCHES


def page_pixels(points: float, width_inches: float) -> float:
    """Size on the page, in CSS pixels, of text of ``points`` in a figure ``width_inches`` wide:
    saved at SAVE_DPI, the PNG is shown at its own size, or scaled to PAGE_PX when wider."""
    scale = min(1.0, PAGE_PX / (width_inches * SAVE_DPI))
    return points * SAVE_DPI / 72 * scale


def test_page_pixels_scale_a_wide_figure_to_the_page():
    assert page_pixels(10, 10) == pytest.approx(10 * 800 / 720)  # 10 in at 150 dpi is 1500 px, shown at 800
    assert page_pixels(9, 4) == pytest.approx(9 * 150 / 72)  # 600 px wide: shown at its own size


def assert_legible(fig) -> None:
    """Every text ``fig`` draws is at least MIN_TEXT_PX on the page."""
    texts, width = rendered_texts(fig)
    assert texts, "the figure draws no text"
    small = sorted({(round(page_pixels(pt, width), 1), s) for pt, s in texts if page_pixels(pt, width) < MIN_TEXT_PX})
    assert small == [], f"text under {MIN_TEXT_PX} px at {PAGE_PX} px page width ({width:.1f} in figure): {small[:5]}"


def tick_collisions(fig) -> list[tuple[str, str]]:
    """Pairs of tick labels along one axis that print over each other (key frequencies 36 and 38, say).

    Labels set at a slant (45 degrees, to fit) are left out: their bounding boxes, upright
    rectangles, overlap where the slanted words do not."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    collisions = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels(which="both")
                      if t.get_visible() and t.get_text().strip() and t.get_rotation() % 90 == 0]
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels]
            collisions += [(a, b) for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1:]
                           if box_a.overlaps(box_b)]
    return collisions


@pytest.mark.parametrize("name", list(RUN_FIGURES))
def test_run_figure_text_is_legible_at_page_width(drawn, name):
    result = drawn[2][name]
    if isinstance(result, Exception):
        raise result
    assert_legible(result)


@pytest.mark.parametrize("name", list(RUN_FIGURES))
def test_run_figure_tick_labels_do_not_collide(drawn, name):
    result = drawn[2][name]
    if isinstance(result, Exception):
        raise result
    assert tick_collisions(result) == []


SWEEP_FIGURES = ("seed_loss_curves", "seed_frequency_fingerprints", "phase_diagram", "phase_epochs_to_accuracy")


@pytest.fixture(scope="module")
def sweeps_drawn():
    """The figures of the committed sweeps (runs/seeds with the committed run first, runs/phase)."""
    figures = sweep_figures(ROOT / "runs" / "seeds", ROOT / "runs" / "phase", ROOT / "runs" / "canonical")
    yield {name: draw() for name, draw in figures.items()}
    plt.close("all")


@pytest.mark.parametrize("name", SWEEP_FIGURES)
def test_sweep_figure_is_legible(sweeps_drawn, name, overlapping_texts):
    fig = sweeps_drawn[name]
    assert_legible(fig)
    assert overlapping_texts(fig) == []
    assert tick_collisions(fig) == []


def test_no_p_cubed_float64_tensors(drawn):
    largest, ctx, _ = drawn
    assert largest < ctx.p**3, f"an analysis made a float64 tensor of {largest} >= p^3 = {ctx.p**3} elements"
