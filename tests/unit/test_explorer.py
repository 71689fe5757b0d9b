"""The explorers' data (analysis.explorer) and figures (plotting.interactive), on planted inputs."""

import base64
import itertools
import math

import numpy as np
import pytest
import torch

from grokking.analysis import explorer
from grokking.analysis.fourier import fourier_basis
from grokking.analysis.neurons import NEURON_THRESHOLD
from grokking.analysis.progress import pack_bits
from grokking.analysis.regimes import REGIMES, regime
from grokking.chapter import Interactive
from grokking.plotting import interactive

P = 13


def planted_shares() -> torch.Tensor:
    """10 neurons over K = 6 frequencies: 4 in cluster 2, 3 in cluster 5, 3 unexplained."""
    shares = torch.full((10, 6), 0.01)
    for n, share in zip([0, 1, 2, 3], [0.90, 0.99, 0.95, 0.86], strict=True):
        shares[n, 1] = share  # frequency 2
    for n, share in zip([4, 5, 6], [0.97, 0.88, 0.93], strict=True):
        shares[n, 4] = share  # frequency 5
    shares[7:, 0] = 0.5  # below the threshold
    return shares


def test_picked_neurons_grouped_by_cluster_best_first():
    acts = torch.zeros(P, P, 10)
    acts[:, :, 8] = torch.randn(P, P) * 3  # the unexplained neuron that varies most
    acts[:, :, 9] = torch.randn(P, P) * 0.1
    picks = explorer.picked_neurons(planted_shares(), acts, per_cluster=2, unclustered=1)
    assert [(x["neuron"], x["cluster"]) for x in picks] == [(1, 2), (2, 2), (4, 5), (6, 5), (8, None)]
    assert all(x["share"] > NEURON_THRESHOLD for x in picks[:4])
    assert picks[-1]["frequency"] == 1


def test_neuron_views_spectrum_peaks_at_the_planted_frequency():
    a = torch.arange(P).double()
    grid = torch.relu(torch.cos(2 * math.pi * 3 * (a[:, None] + a[None, :]) / P))  # frequency 3 in a + b
    acts = grid[:, :, None].float().repeat(1, 1, 2)
    views = explorer.neuron_views(acts, [{"neuron": 0}, {"neuron": 1}], fourier_basis(P), [3])
    assert views["acts"].shape == (2, P, P) and torch.equal(views["acts"][0], grid.float())
    spectrum = views["spectra"][0].nan_to_num(0)
    assert tuple(divmod(int(spectrum.argmax()), spectrum.shape[1])) in {(3, 3), (3, 0), (0, 3)}
    assert spectrum.shape == ((P + 1) // 2, (P + 1) // 2)


def test_answers_and_logit_grids():
    answers = explorer.answers_to_show(P, (5, 11), count=4)
    assert answers[0] == (5 + 11) % P and len(set(answers)) == 4
    logits = torch.randn(P * P, P)
    grids = explorer.logit_grids(logits, P, answers)
    assert torch.equal(grids[1][4, 7], logits[4 * P + 7, answers[1]])


def dropdown_masks(fig) -> list[list[bool]]:
    return [button.args[0]["visible"] for button in fig.layout.updatemenus[0].buttons]


def test_attention_explorer_one_head_at_a_time():
    attention = torch.rand(4, P, P)
    fig = interactive.attention_explorer(attention)
    assert len(fig.data) == 4 and [t.visible for t in fig.data] == [True, False, False, False]
    assert np.allclose(np.asarray(fig.data[2].z), attention[2].numpy())
    assert dropdown_masks(fig)[2] == [False, False, True, False]
    assert "a = %{y}, b = %{x}" in fig.data[0].hovertemplate


def test_neuron_explorer_two_panels_per_neuron():
    picks = [{"neuron": 7, "cluster": 2, "share": 0.9, "frequency": 2},
             {"neuron": 9, "cluster": None, "share": 0.4, "frequency": 1}]
    views = {"acts": torch.rand(2, P, P), "spectra": torch.rand(2, 7, 7)}
    fig = interactive.neuron_explorer(views, picks)
    assert len(fig.data) == 4
    assert dropdown_masks(fig) == [[True, True, False, False], [False, False, True, True]]
    labels = [b.label for b in fig.layout.updatemenus[0].buttons]
    assert labels == ["k = 2: neuron 7 (90%)", "no cluster: neuron 9 (k = 1: 40%)"]
    assert np.allclose(np.asarray(fig.data[3].z), views["spectra"][1].numpy())


def test_logit_explorer_hover_gives_the_sum():
    grids = torch.rand(2, P, P)
    fig = interactive.logit_explorer(grids, [3, 8])
    assert np.array_equal(np.asarray(fig.data[0].customdata)[4, 11], (4 + 11) % P)
    assert "logit of c = 8" in fig.data[1].hovertemplate


def phase_row(frac, wd, train_99, test_99):
    return {"config": {"p": 7, "frac_train": frac, "weight_decay": wd}, "epoch_train_99": train_99,
            "epoch_test_99": test_99, "final_test_acc": 1.0 if test_99 else 0.2, "epochs_trained": 3000,
            "curve": {"epoch": [0, 100], "train_acc": [0.1, frac], "test_acc": [0.0, wd]}}


def test_phase_explorer_cells_and_curves():
    rows = [phase_row(0.3, 0.0, 100, None), phase_row(0.6, 0.0, 100, 200),
            phase_row(0.3, 1.0, None, None), phase_row(0.6, 1.0, 100, 5000)]
    fig = interactive.phase_explorer(rows)
    codes = np.asarray(fig.data[0].z)
    assert codes[0, 0] == REGIMES.index("memorisation") and codes[1, 0] == REGIMES.index("no learning")
    assert codes[1, 1] == REGIMES.index(regime(rows[3])) == REGIMES.index("grokking")
    curves = fig.layout.meta["curves"]
    assert curves["1,1"]["train"] == [0.1, 0.6] and curves["1,1"]["test"] == [0.0, 1.0]
    assert fig.data[0].customdata[1][1] == "1,1"
    html = Interactive(fig, interactive.PHASE_HOVER_SCRIPT)._repr_html_()
    assert "plotly_hover" in html and "{plot_id}" not in html


def test_page_html_carries_no_plotly_js():
    html = interactive.page_html(interactive.attention_explorer(torch.rand(2, P, P)))
    assert 'class="plotly-graph-div"' in html
    assert len(html) < 200_000  # the data only: plotly.js alone is 4.6 MB
    assert "cdn" not in html.lower() and "MathJax" not in html


# ------------------------------------------------------------------ the training explorer
def planted_progress(n: int = 9, p: int = P) -> tuple[dict, torch.Tensor]:
    """n checkpoints 100 epochs apart; at checkpoint i the pairs with index < i * p are right."""
    epochs = torch.arange(n) * 100
    rows = [pack_bits(torch.arange(p * p) < i * p) for i in range(n)]
    freqs = (p - 1) // 2
    progress = {"epoch": epochs, "correct_bits": torch.stack(rows),
                "W_E_freq_norms": torch.arange(n * freqs, dtype=torch.float32).reshape(n, freqs),
                "W_L_freq_norms": torch.ones(n, freqs)}
    for j, key in enumerate(explorer.FRAME_SERIES):
        progress[key] = torch.linspace(1.0, 0.1, n, dtype=torch.float64) * (j + 1)
    train_idx = torch.tensor([0, 5, p + 1, p * p - 1])
    return progress, train_idx


def test_frame_indices_spread_evenly_and_keep_both_ends():
    assert explorer.frame_indices(5, 10) == [0, 1, 2, 3, 4]
    assert explorer.frame_indices(401) == list(range(0, 401, 2))
    picked = explorer.frame_indices(400, 201)
    assert picked[0] == 0 and picked[-1] == 399 and len(picked) <= 201
    assert all(b > a for a, b in itertools.pairwise(picked))
    for bad in ((0, 10), (5, 1)):
        with pytest.raises(ValueError, match="at least one checkpoint"):
            explorer.frame_indices(*bad)


def test_training_frames_carry_each_checkpoint_and_its_phase():
    progress, train_idx = planted_progress()
    bounds = {"memorisation_end": 200, "cleanup_start": 500, "cleanup_end": 700}
    frames = explorer.training_frames(progress, bounds, train_idx, P, most=5)
    assert frames["epoch"].tolist() == [0, 200, 400, 600, 800]
    assert frames["phase"] == ["memorisation", "memorisation ends", "circuit formation", "clean-up", "grokked"]
    assert torch.equal(frames["W_E_freq_norms"], progress["W_E_freq_norms"][[0, 2, 4, 6, 8]])
    # The table's codes: 2 * train + right, from the packed bits.
    codes = explorer.table_codes(frames["correct_bits"][1], frames["train_bits"], P)  # checkpoint 2
    assert codes.shape == (P, P) and codes.dtype == torch.int8
    right = torch.arange(P * P) < 2 * P
    train = torch.zeros(P * P, dtype=torch.bool)
    train[train_idx] = True
    assert torch.equal(codes.flatten(), (2 * train.to(torch.int8) + right.to(torch.int8)))
    assert explorer.TABLE_CODES[int(codes[0, 0])] == "train, right"
    assert explorer.TABLE_CODES[int(codes[P - 1, P - 1])] == "train, wrong"
    assert explorer.TABLE_CODES[int(codes[P - 1, 0])] == "test, wrong"
    no_bits = {k: v for k, v in progress.items() if k != "correct_bits"}
    with pytest.raises(KeyError, match="python -m grokking progress"):
        explorer.training_frames(no_bits, bounds, train_idx, P)


def test_training_explorer_draws_the_start_frame_and_carries_every_frame():
    progress, train_idx = planted_progress()
    bounds = {"memorisation_end": 200, "cleanup_start": 500, "cleanup_end": 700}
    frames = explorer.training_frames(progress, bounds, train_idx, P)
    history = {"epoch": progress["epoch"], "train_loss": progress["train_loss"], "test_loss": progress["test_loss"]}
    fig = interactive.training_explorer(frames, explorer.training_curves(history, progress), [2, 5], bounds, start=3)
    data = interactive.figure_json(fig)
    traces = data["data"]
    assert [t["type"] for t in traces[:8]] == ["scatter"] * 5 + ["heatmap", "bar", "bar"]
    assert interactive.TABLE_TRACE == 5
    meta = data["layout"]["meta"]["training"]
    n = len(frames["epoch"])
    assert meta["epoch"] == frames["epoch"].tolist() and meta["start"] == 3 and meta["p"] == P
    assert len(meta["bits"]) == len(meta["we"]) == len(meta["wl"]) == len(meta["phase"]) == n
    # Each frame's packed bits decode (URL-safe base64) to that checkpoint's bytes.
    for f in (0, 3, n - 1):
        raw = base64.urlsafe_b64decode(meta["bits"][f])
        assert list(raw) == frames["correct_bits"][f].tolist()
    # The figure as sent draws the start frame: its table, its bars, its markers and title.
    z = np.asarray(fig.data[5].z)
    assert np.array_equal(z, explorer.table_codes(frames["correct_bits"][3], frames["train_bits"], P).numpy())
    assert list(fig.data[6].y) == frames["W_E_freq_norms"][3].tolist()
    assert list(fig.data[4].x) == [300] * 4
    assert fig.layout.title.text == interactive.training_title(300, 800, frames["phase"][3])
    # Key frequencies in the key colour, the rest plain.
    colours = fig.data[6].marker.color
    assert colours[1] == colours[4] != colours[0]
    # The table's legend names the four codes, in their colours.
    assert [t["name"] for t in traces[8:]] == list(explorer.TABLE_CODES)
    html = interactive.page_html(fig, interactive.TRAINING_SCRIPT)
    assert "plotly.min.js" not in html and "tc-slider" in html
