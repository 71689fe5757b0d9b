"""Sweeps: early-stopped grids, one result per run, resumable, in one or several processes."""

import pytest

from grokking import sweep
from grokking.config import Config
from grokking.runs.load import load_run

# A small model that generalises within a few hundred epochs (test accuracy >= 99% near epoch 500).
QUICK = Config(p=23, frac_train=0.8, weight_decay=1.0, lr=3e-3, d_model=32, d_mlp=128, n_heads=2,
               d_head=16, model_seed=1, split_seed=1, epochs=1500)
# ... and one that cannot in that time (no weight decay, little data).
STUCK = QUICK.replace(frac_train=0.3, weight_decay=0.0, epochs=300)


def _quick_runs():
    return [sweep.SweepRun("quick", QUICK, "row", True), sweep.SweepRun("stuck", STUCK, "row", True)]


@pytest.fixture(scope="module")
def quick_sweep(tmp_path_factory):
    """The two small runs swept once (patience 100 epochs): (folder, summary)."""
    out = tmp_path_factory.mktemp("quick-sweep")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sweep, "PATIENCE", 100)
        return out, sweep.run_sweep(_quick_runs(), out)


def test_sweep_writes_one_row_per_run_and_never_redoes_one(quick_sweep):
    tmp_path, summary = quick_sweep
    assert sorted(summary["finished"]) == ["quick", "stuck"]
    rows = {r["config"]["frac_train"]: r for r in sweep.load_results(tmp_path)}
    quick, stuck = rows[0.8], rows[0.3]
    assert quick["stopped_early"]
    assert quick["epoch_test_99"] is not None
    assert quick["epochs_trained"] - quick["epoch_test_99"] >= 100
    assert quick["final_test_acc"] >= 0.99
    assert quick["key_frequencies"]
    assert not stuck["stopped_early"]
    assert stuck["epochs_trained"] == STUCK.epochs
    assert stuck["epoch_test_99"] is None
    assert stuck["final_test_acc"] < 0.99
    assert stuck["curve"]["epoch"][0] == 0
    assert stuck["curve"]["epoch"][-1] == STUCK.epochs
    files = sorted((tmp_path / "results").glob("*.json"))
    stamps = [f.stat().st_mtime_ns for f in files]
    again = sweep.run_sweep(_quick_runs(), tmp_path)
    assert sorted(again["skipped"]) == ["quick", "stuck"]
    assert not again["finished"]
    assert [f.stat().st_mtime_ns for f in files] == stamps


def test_interrupted_sweep_continues_where_it_stopped(tmp_path, monkeypatch, quick_sweep):
    monkeypatch.setattr(sweep, "PATIENCE", 100)
    runs = [sweep.SweepRun("quick", QUICK, "row", True)]
    calls = {"n": 0}

    def stop_after_250():
        calls["n"] += 1
        return calls["n"] >= 250

    part = sweep.run_sweep(runs, tmp_path / "part", should_stop=stop_after_250)
    assert part["interrupted"] == ["quick"]
    assert not (tmp_path / "part" / "results").exists()
    rest = sweep.run_sweep(runs, tmp_path / "part")
    assert rest["finished"] == ["quick"]
    whole = [r for r in sweep.load_results(quick_sweep[0]) if r["config"] == QUICK.to_dict()]
    assert whole == sweep.load_results(tmp_path / "part")  # resuming reproduces the uninterrupted run exactly


def test_sweep_with_two_jobs_matches_one_job(tmp_path, monkeypatch):
    runs = [sweep.SweepRun("a", STUCK, "row", True), sweep.SweepRun("b", STUCK.replace(weight_decay=1.0), "row", True)]
    sweep.run_sweep(runs, tmp_path / "one", threads=1)
    summary = sweep.run_sweep(runs, tmp_path / "two", jobs=2, threads=1)
    assert sorted(summary["finished"]) == ["a", "b"]
    one, two = sweep.load_results(tmp_path / "one"), sweep.load_results(tmp_path / "two")
    assert [r["final_train_loss"] for r in one] == [r["final_train_loss"] for r in two]


def test_seeds_grid_keeps_whole_runs(tmp_path):
    runs = sweep.seed_runs(seeds=(5,), epochs=20)
    summary = sweep.run_sweep(runs, tmp_path)
    assert summary["finished"] == ["seed-5"]
    run = load_run(tmp_path / "seed-5")
    assert run.config.model_seed == 5
    assert run.config.split_seed == 5
    assert int(run.history["epoch"][-1]) == 20
    assert sweep.run_sweep(runs, tmp_path)["skipped"] == ["seed-5"]
    with pytest.raises(sweep.SweepError, match="different config"):
        sweep.is_finished(sweep.seed_runs(seeds=(5,), epochs=30)[0], tmp_path)


def test_book_grids_cover_the_issue():
    phase = sweep.phase_runs()
    fracs = sorted({r.config.frac_train for r in phase})
    wds = sorted({r.config.weight_decay for r in phase})
    assert len(fracs) >= 6
    assert fracs[0] == 0.1
    assert fracs[-1] == 0.8
    assert len(wds) >= 5
    assert 0.0 in wds
    assert all(r.early_stop and r.keep == "row" for r in phase)
    seeds = sweep.seed_runs()
    assert len(seeds) >= 4
    assert all(r.config.replace(model_seed=999, split_seed=598) == Config() for r in seeds)
