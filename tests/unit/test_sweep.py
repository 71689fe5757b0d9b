"""Sweeps: early-stopped grids, one result per run, resumable, in one or several processes."""

import os
from pathlib import Path

import pytest

from grokking import sweep
from grokking.config import Config
from grokking.runs import store
from grokking.runs.load import load_run
from grokking.runs.lock import LOCK, RunLock

ROOT = Path(__file__).resolve().parents[2]  # tests/unit/ -> the repository

# A small model that generalises within a few hundred epochs (test accuracy >= 99% near epoch 500).
QUICK = Config(p=23, frac_train=0.8, weight_decay=1.0, lr=3e-3, d_model=32, d_mlp=128, n_heads=2,
               d_head=16, model_seed=1, split_seed=1, epochs=1500)
# ... and one that cannot in that time (no weight decay, little data).
STUCK = QUICK.replace(frac_train=0.3, weight_decay=0.0, epochs=300)


def _quick_runs():
    return [sweep.SweepRun("quick", QUICK, "row", True), sweep.SweepRun("stuck", STUCK, "row", True)]


def result_files(out) -> dict[str, bytes]:
    """Every result file of a sweep folder, by name, as bytes."""
    return {path.name: path.read_bytes() for path in sorted(sweep.results_dir(out).glob("*.json"))}


@pytest.fixture(scope="module")
def quick_sweep(tmp_path_factory):
    """The two small runs swept once (patience 100 epochs): (folder, summary)."""
    out = tmp_path_factory.mktemp("quick-sweep")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sweep, "PATIENCE", 100)
        return out, sweep.run_sweep(_quick_runs(), out, threads=1)


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

    part = sweep.run_sweep(runs, tmp_path / "part", threads=1, should_stop=stop_after_250)
    assert part["interrupted"] == ["quick"]
    assert not (tmp_path / "part" / "results").exists()
    rest = sweep.run_sweep(runs, tmp_path / "part", threads=1)
    assert rest["finished"] == ["quick"]
    # resuming reproduces the uninterrupted run exactly: the whole result file, byte for byte
    assert result_files(tmp_path / "part") == {"quick.json": result_files(quick_sweep[0])["quick.json"]}


def test_sweep_with_two_jobs_matches_one_job(tmp_path, monkeypatch):
    runs = [sweep.SweepRun("a", STUCK, "row", True), sweep.SweepRun("b", STUCK.replace(weight_decay=1.0), "row", True)]
    sweep.run_sweep(runs, tmp_path / "one", threads=1)
    summary = sweep.run_sweep(runs, tmp_path / "two", jobs=2, threads=1)
    assert sorted(summary["finished"]) == ["a", "b"]
    one, two = result_files(tmp_path / "one"), result_files(tmp_path / "two")
    assert sorted(one) == ["a.json", "b.json"]
    assert one == two  # every result file byte for byte


def test_seeds_grid_keeps_whole_runs(tmp_path):
    runs = sweep.seed_runs(seeds=(5,), epochs=20)
    summary = sweep.run_sweep(runs, tmp_path)
    assert summary["finished"] == ["seed-5"]
    run = load_run(tmp_path / "seed-5")
    assert run.config.model_seed == 5
    assert run.config.split_seed == 5
    assert int(run.history["epoch"][-1]) == 20
    assert sweep.run_sweep(runs, tmp_path)["skipped"] == ["seed-5"]
    with pytest.raises(sweep.SweepError, match="seed-5 holds epochs=20, asked for epochs=30; move it away"):
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


# ------------------------------------------------------------------ a finished result is reused only when it matches
def test_a_result_of_another_config_is_an_error_naming_the_fields(quick_sweep):
    out, _ = quick_sweep
    other = [sweep.SweepRun("quick", QUICK.replace(epochs=300, lr=1e-3), "row", True)]
    path = sweep.results_dir(out) / "quick.json"
    expected = (f"{path} holds lr=0.003, epochs=1500, asked for lr=0.001, epochs=300; "
                "move it away or choose another --out")
    with pytest.raises(sweep.SweepError) as error:
        sweep.is_finished(other[0], out)
    assert str(error.value) == expected
    with pytest.raises(sweep.SweepError, match=r"quick\.json holds lr=0\.003, epochs=1500"):
        sweep.run_sweep(other, out)


def test_a_damaged_result_is_an_error_naming_the_file(tmp_path):
    run = sweep.SweepRun("quick", QUICK, "row", True)
    store.atomic_write_json(sweep.result_path(run, tmp_path), {"config": {"p": 23, "colour": "red"}})
    with pytest.raises(sweep.SweepError, match=r"quick.json: not a result table of a sweep \(unknown config keys"):
        sweep.is_finished(run, tmp_path)


# ------------------------------------------------------------------ names and bounds
def test_phase_names_keep_the_book_names():
    committed = sorted(path.stem for path in (ROOT / "runs" / "phase" / "results").glob("*.json"))
    assert sorted(r.name for r in sweep.phase_runs()) == committed
    assert "p59-frac0.30-wd1" in committed


def test_phase_names_are_exact():
    runs = sweep.phase_runs(p=5, fracs=(0.301, 0.304, 0.125), weight_decays=(1e-5, 0.1234567), epochs=10)
    names = [r.name for r in runs]
    assert names[:2] == ["p5-frac0.301-wd1e-05", "p5-frac0.301-wd0.1234567"]
    assert len(set(names)) == len(names)
    for run in runs:  # each name reads back as its cell's values
        frac, wd = run.name.split("-frac")[1].split("-wd")
        assert (float(frac), float(wd)) == (run.config.frac_train, run.config.weight_decay)


@pytest.mark.parametrize(("options", "message"), [
    (dict(fracs=(0.3, 0.30)), "the grid lists train fraction 0.3 twice"),
    (dict(weight_decays=(0.0, 1.0, -0.0)), "the grid lists weight decay 0.0 twice"),
])
def test_a_value_listed_twice_is_an_error(options, message):
    with pytest.raises(sweep.SweepError) as error:
        sweep.phase_runs(p=5, epochs=10, **options)
    assert str(error.value) == message


def test_a_seed_listed_twice_is_an_error():
    with pytest.raises(sweep.SweepError, match="the grid lists seed 2 twice"):
        sweep.seed_runs(seeds=(1, 2, 2))


def test_jobs_and_threads_are_bounded():
    sweep.check_jobs(1)
    sweep.check_jobs(sweep.MAX_JOBS, sweep.MAX_THREADS)
    for jobs, threads in [(0, None), (sweep.MAX_JOBS + 1, None), (True, None), (2.0, None),
                          (1, 0), (1, sweep.MAX_THREADS + 1)]:
        with pytest.raises(sweep.SweepError, match="must be a whole number from 1 to"):
            sweep.check_jobs(jobs, threads)
    with pytest.raises(sweep.SweepError, match="--jobs must be a whole number from 1 to 64, got 0"):
        sweep.run_sweep([], "unused", jobs=0)


def test_a_run_name_must_be_a_plain_folder_name(tmp_path):
    with pytest.raises(sweep.SweepError, match="not a plain folder name"):
        sweep.run_sweep([sweep.SweepRun("../away", STUCK, "row", True)], tmp_path)


# ------------------------------------------------------------------ one writer per run
def test_a_run_locked_by_another_writer_is_left_alone(tmp_path):
    tiny = STUCK.replace(epochs=20)
    runs = [sweep.SweepRun("held", tiny, "row", True),
            sweep.SweepRun("free", tiny.replace(weight_decay=1.0), "row", True)]
    held = sweep.work_dir(tmp_path) / "held"
    held.mkdir(parents=True)
    messages = {}
    with RunLock(held):
        summary = sweep.run_sweep(runs, tmp_path, threads=1, on_locked=messages.__setitem__)
        assert [p.name for p in held.iterdir()] == [LOCK]  # nothing written into it
    assert summary["locked"] == ["held"]
    assert summary["finished"] == ["free"]
    assert f"is being written by process {os.getpid()}" in messages["held"]
    assert sorted(result_files(tmp_path)) == ["free.json"]
    assert sweep.run_sweep(runs, tmp_path, threads=1)["finished"] == ["held"]  # once released, it trains


# ------------------------------------------------------------------ what a sweep may delete
def test_a_seeds_run_of_another_config_is_never_deleted(tmp_path):
    run = sweep.seed_runs(seeds=(5,), epochs=20)[0]
    store.write_config(tmp_path / "seed-5", run.config.replace(epochs=30))  # an interrupted run of another length
    with pytest.raises(sweep.SweepError, match="seed-5 holds epochs=30, asked for epochs=20"):
        sweep.run_sweep([run], tmp_path)
    assert store.load_config(tmp_path / "seed-5") == run.config.replace(epochs=30)


def test_a_work_folder_that_is_a_symlink_is_not_emptied(tmp_path):
    run = sweep.SweepRun("cell", STUCK.replace(epochs=20), "row", True)
    elsewhere = tmp_path / "elsewhere"
    store.write_config(elsewhere, STUCK)
    sweep.work_dir(tmp_path / "grid").mkdir(parents=True)
    (sweep.work_dir(tmp_path / "grid") / "cell").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(sweep.SweepError, match="refusing to delete it"):
        sweep.run_sweep([run], tmp_path / "grid")
    assert sorted(p.name for p in elsewhere.iterdir()) == [store.CONFIG]


def test_emptying_a_work_folder_follows_no_symlink(tmp_path):
    run = sweep.SweepRun("cell", STUCK.replace(epochs=20), "row", True)
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "precious").write_text("mine")
    folder = sweep.work_dir(tmp_path / "grid") / "cell"
    store.write_config(folder, STUCK)  # a work folder of another config: scratch
    (folder / "link").symlink_to(keep, target_is_directory=True)
    assert sweep.run_sweep([run], tmp_path / "grid", threads=1)["finished"] == ["cell"]
    assert not (folder / "link").exists()
    assert (keep / "precious").read_text() == "mine"
    assert store.load_config(folder) == run.config
