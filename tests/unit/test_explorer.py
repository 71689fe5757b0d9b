"""The explorers' data (analysis.explorer) and figures (plotting.interactive), on planted inputs."""

import math

import numpy as np
import torch

from grokking.analysis import explorer
from grokking.analysis.fourier import fourier_basis
from grokking.analysis.neurons import NEURON_THRESHOLD
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
