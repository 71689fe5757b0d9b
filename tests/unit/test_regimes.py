"""The phase-diagram chapter's data: regimes from the two epochs, the paper comparison, the grid layout."""

from matplotlib.figure import Figure

from grokking.analysis import regimes
from grokking.config import Config
from grokking.figures import phase_figures
from grokking.plotting import phase as phase_plots


def _row(frac, wd, train_99, test_99, epochs=20_000, trained=None):
    config = Config(p=59, frac_train=frac, weight_decay=wd, epochs=epochs).to_dict()
    trained = trained if trained is not None else (epochs if test_99 is None else test_99 + 1000)
    return {"config": config, "epoch_train_99": train_99, "epoch_test_99": test_99,
            "epochs_trained": trained, "stopped_early": trained < epochs, "key_frequencies": [3],
            "final_train_acc": 1.0, "final_test_acc": 1.0 if test_99 is not None else 0.2,
            "curve": {"epoch": [0, trained], "train_acc": [0.0, 1.0], "test_acc": [0.0, 1.0],
                      "train_loss": [4.0, 0.1], "test_loss": [4.0, 0.1]}}


def test_regimes_from_the_two_epochs():
    assert regimes.regime(_row(0.3, 1.0, None, None)) == "no learning"
    assert regimes.regime(_row(0.3, 1.0, 100, None)) == "memorisation"
    assert regimes.regime(_row(0.3, 1.0, 100, 100 + regimes.GROKKING_DELAY + 10)) == "grokking"
    assert regimes.regime(_row(0.3, 1.0, 100, 100 + regimes.GROKKING_DELAY)) == "fast generalisation"


# A planted grid that behaves as the three published measurements say, and one that does not.
PAPER_LIKE = [
    _row(0.1, 0.0, 80, None), _row(0.3, 0.0, 80, None), _row(0.7, 0.0, 80, None),
    _row(0.1, 1.0, 80, None), _row(0.2, 1.0, 80, None),
    _row(0.3, 0.3, 80, 19000), _row(0.3, 1.0, 80, 7000), _row(0.3, 3.0, 80, 3000),
    _row(0.2, 3.0, 80, 12000),
    _row(0.4, 1.0, 80, 5000), _row(0.5, 1.0, 80, 4000),
    _row(0.6, 1.0, 80, 500), _row(0.8, 1.0, 80, 300),
]


def test_published_comparison_agrees_with_a_grid_that_behaves_as_published():
    facts = regimes.published_comparison(PAPER_LIKE)
    assert [f["verdict"] for f in facts] == ["agrees"] * 3
    assert all(f["source"] in regimes.SOURCES.values() for f in facts)
    assert regimes.smallest_fraction_that_generalises(PAPER_LIKE, 3.0) == 0.2
    assert regimes.smallest_fraction_that_generalises(PAPER_LIKE, 0.0) is None


def test_published_comparison_notices_disagreement():
    contrary = [r for r in PAPER_LIKE if r["config"]["weight_decay"] != 3.0]
    contrary += [_row(0.3, 3.0, 80, 30000), _row(0.5, 3.0, 80, 6000)]  # more decay: later, more data needed
    contrary = [_row(0.6, 1.0, 80, 9000) if (r["config"]["frac_train"], r["config"]["weight_decay"]) == (0.6, 1.0)
                else r for r in contrary]
    verdicts = [f["verdict"] for f in regimes.published_comparison(contrary)]
    assert verdicts == ["differs", "differs", "differs"]


def test_every_source_says_where():
    for source in regimes.SOURCES.values():
        assert any(where in source for where in ("section", "Fig.", "ICLR", "saved_runs/")), source


def test_grid_layout_and_phase_figures():
    fracs, wds, cells = regimes.grid(PAPER_LIKE, "regime")
    assert fracs == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    assert wds == [0.0, 0.3, 1.0, 3.0]
    assert cells[wds.index(1.0)][fracs.index(0.8)] == "fast generalisation"
    assert cells[wds.index(3.0)][fracs.index(0.1)] is None
    for fig in (phase_plots.phase_diagram(PAPER_LIKE), phase_plots.epochs_to_accuracy(PAPER_LIKE),
                phase_plots.accuracy_curves(PAPER_LIKE, 0.3)):
        assert isinstance(fig, Figure)
    figures = phase_figures(PAPER_LIKE)
    assert set(figures) == {"phase_diagram", "phase_epochs_to_accuracy"}
    for name, draw in figures.items():
        assert isinstance(draw(), Figure), name
