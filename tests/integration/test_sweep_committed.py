"""The committed phase-diagram sweep: the whole grid, consistent rows, small on disk."""

from pathlib import Path

import pytest
from matplotlib.figure import Figure

from grokking import sweep
from grokking.config import Config
from grokking.figures import sweep_figures

ROOT = Path(__file__).resolve().parents[2]  # tests/integration/ -> the repository
PHASE_DIR = ROOT / "runs" / "phase"


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
            held = [a for e, a in zip(curve["epoch"], curve["test_acc"], strict=False)
                    if e >= r["epochs_trained"] - sweep.PATIENCE]
            assert min(held) >= sweep.ACC_THRESHOLD
        if r["epoch_test_99"] is not None:
            assert r["epoch_test_99"] <= r["epochs_trained"]


def test_committed_sweeps_are_small():
    total = sum(f.stat().st_size for d in (ROOT / "runs" / "seeds", PHASE_DIR / "results")
                for f in d.rglob("*") if f.is_file() and "checkpoints" not in f.parts)
    assert total <= 8 * 1024 * 1024, f"{total / 2**20:.1f} MiB"


def test_phase_figures_draw_from_the_committed_grid():
    figures = sweep_figures(None, PHASE_DIR)
    assert set(figures) == {"phase_diagram", "phase_epochs_to_accuracy"}
    for name, draw in figures.items():
        assert isinstance(draw(), Figure), name
