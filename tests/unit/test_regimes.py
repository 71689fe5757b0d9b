"""The seeds and phase-diagram chapters' data: regimes, the paper comparison, the committed sweeps."""

from pathlib import Path

import pytest
import torch
from matplotlib.figure import Figure

from grokking import regimes, seeds, store, sweep
from grokking.config import Config
from grokking.plotting import phase as phase_plots

ROOT = Path(__file__).resolve().parent.parent
PHASE_DIR = ROOT / "runs" / "phase"


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


# A planted grid that behaves exactly as the paper says, and one that does not.
PAPER_LIKE = [
    _row(0.1, 0.0, 80, None), _row(0.3, 0.0, 80, None), _row(0.7, 0.0, 80, None),
    _row(0.1, 1.0, 80, None), _row(0.2, 1.0, 80, None),
    _row(0.3, 0.3, 80, 3000), _row(0.3, 1.0, 80, 7000), _row(0.3, 3.0, 80, 19000),
    _row(0.4, 1.0, 80, 5000), _row(0.5, 1.0, 80, 4000),
    _row(0.6, 1.0, 80, 500), _row(0.8, 1.0, 80, 300),
]


def test_paper_comparison_agrees_with_a_paper_like_grid():
    verdicts = [f["verdict"] for f in regimes.paper_comparison(PAPER_LIKE)]
    assert verdicts == ["agrees"] * 5


def test_paper_comparison_notices_disagreement():
    contrary = [_row(0.3, 0.0, 80, 6000)] + [r for r in PAPER_LIKE if r["config"]["weight_decay"] != 0.0]
    contrary = [_row(0.6, 1.0, 80, 9000) if (r["config"]["frac_train"], r["config"]["weight_decay"]) == (0.6, 1.0)
                else r for r in contrary]
    facts = regimes.paper_comparison(contrary)
    assert facts[0]["verdict"] == "differs"  # weight decay 0 generalised
    assert facts[3]["verdict"] == "partly"  # 0.6 grokked slowly, 0.8 generalised fast


def test_grid_layout_and_phase_figures():
    fracs, wds, cells = regimes.grid(PAPER_LIKE, "regime")
    assert fracs == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8] and wds == [0.0, 0.3, 1.0, 3.0]
    assert cells[wds.index(1.0)][fracs.index(0.8)] == "fast generalisation"
    assert cells[wds.index(3.0)][fracs.index(0.1)] is None
    for fig in (phase_plots.phase_diagram(PAPER_LIKE), phase_plots.epochs_to_accuracy(PAPER_LIKE),
                phase_plots.accuracy_curves(PAPER_LIKE, 0.3)):
        assert isinstance(fig, Figure)


# ------------------------------------------------------------------ committed results
def test_committed_phase_grid_is_complete_and_consistent():
    rows = sweep.load_results(PHASE_DIR)
    expected = {r.config for r in sweep.phase_runs()}
    assert {Config.from_dict(r["config"]) for r in rows} == expected
    for r in rows:
        cap = r["config"]["epochs"]
        assert r["stopped_early"] == (r["epochs_trained"] < cap)
        curve = r["curve"]
        assert curve["epoch"][-1] == r["epochs_trained"]
        assert curve["test_acc"][-1] == pytest.approx(r["final_test_acc"], rel=1e-3)  # curves keep 4 digits
        if r["stopped_early"]:
            assert r["final_test_acc"] >= sweep.ACC_THRESHOLD
            held = [a for e, a in zip(curve["epoch"], curve["test_acc"])
                    if e >= r["epochs_trained"] - sweep.PATIENCE]
            assert min(held) >= sweep.ACC_THRESHOLD
        if r["epoch_test_99"] is not None:
            assert r["epoch_test_99"] <= r["epochs_trained"]


def test_committed_sweeps_are_small():
    total = sum(f.stat().st_size for d in (ROOT / "runs" / "seeds", PHASE_DIR / "results")
                for f in d.rglob("*") if f.is_file() and "checkpoints" not in f.parts)
    assert total <= 8 * 1024 * 1024, f"{total / 2**20:.1f} MiB"


@pytest.fixture(scope="module")
def seed_contexts():
    return seeds.load_seed_contexts()


def test_committed_seed_runs_verify_and_differ_only_in_seeds(seed_contexts):
    dirs = seeds.seed_run_dirs()
    assert len(dirs) >= 5 and dirs[0] == seeds.CANONICAL_RUN
    for d in dirs:
        store.verify_run(d)
        config = store.load_config(d)
        assert config.replace(model_seed=999, split_seed=598) == Config()
    assert len({(c.config.model_seed, c.config.split_seed) for c in seed_contexts}) == len(dirs)


def test_every_seed_learns_the_cos_algorithm_on_its_own_frequencies(seed_contexts):
    summaries = [seeds.seed_summary(c) for c in seed_contexts]
    assert all(s["grok_epoch"] is not None and s["final_test_acc"] >= 0.99 for s in summaries)
    assert len({tuple(s["key_frequencies"]) for s in summaries}) >= 2  # not all the same frequencies
    cross = seeds.cross_fit(seed_contexts)
    own = cross.diagonal()
    other = cross[~torch.eye(len(seed_contexts), dtype=torch.bool)]
    assert own.min() > 0.8  # each run's logits are mostly cos(w(a + b - c)) at its own frequencies
    assert other.mean() < own.min()
    for s in summaries:
        assert s["logit_variance_explained"] == pytest.approx(float(own[summaries.index(s)]), abs=1e-6)
