"""The committed Beyond-the-paper results: complete, consistent, small, and made by this code."""

from pathlib import Path

import pytest
import torch

from grokking import experiments
from grokking.analysis.context import RunContext
from grokking.config import Config
from grokking.runs import store
from grokking.runs.load import load_run
from grokking.training.loop import train

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS_DIR = ROOT / "runs" / "experiments"
REPLAY_EPOCHS = 200


def committed(name):
    return experiments.load_results(EXPERIMENTS_DIR / name)


@pytest.mark.parametrize("name", experiments.EXPERIMENTS)
def test_every_run_of_every_experiment_is_committed_with_its_config(name):
    start = ROOT / "runs" / "canonical" if name == "ungrokking" else None
    wanted = experiments.experiment(name, start=start).runs
    results = committed(name)
    assert set(results) == {r.name for r in wanted}
    for r in wanted:
        row = results[r.name]
        assert Config.from_dict(row["config"]) == r.config
        assert row["epochs_trained"] == (r.config.epochs if not row["stopped_early"] else row["epochs_trained"])
        prog = row["progress"]
        assert prog["epoch"][0] == 0 and prog["epoch"][-1] <= row["epochs_trained"]
        assert prog["key_frequencies"] == row["key_frequencies"]
        assert all(0.0 <= f <= 1.0 for f in prog["collapsed_fraction"])
        if r.keep == "run":
            loaded = load_run(EXPERIMENTS_DIR / name / r.name)
            assert loaded.config == r.config
            assert RunContext(loaded).key_frequencies == row["key_frequencies"]
            stored = store.load_tensors(EXPERIMENTS_DIR / name / r.name / store.PROGRESS)
            assert stored["epoch"].tolist() == prog["epoch"]
            assert torch.allclose(stored["restricted_loss"], torch.tensor(prog["restricted_loss"], dtype=torch.float64),
                                  rtol=1e-3)


def test_committed_experiments_are_small():
    total = sum(f.stat().st_size for f in EXPERIMENTS_DIR.rglob("*")
                if f.is_file() and "checkpoints" not in f.parts and "work" not in f.parts)
    assert total <= 8 * 1024 * 1024, f"{total / 2**20:.1f} MiB"


def replay_cases():
    for name in experiments.EXPERIMENTS:
        start = ROOT / "runs" / "canonical" if name == "ungrokking" else None
        runs = experiments.experiment(name, start=start).runs
        yield from [pytest.param(name, r, id=f"{name}/{r.name}") for r in runs[:1 if name == "ungrokking" else None]]


@pytest.mark.parametrize(("name", "run"), list(replay_cases()))
def test_the_first_epochs_of_each_committed_run_come_out_again(tmp_path, name, run):
    """Training the run's config again for 200 epochs gives its committed curve there (to the
    four significant digits the curves keep). On one thread, as the committed runs were
    trained: ⊥AdamW's dot products round differently when split over threads."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        replay(tmp_path, name, run)
    finally:
        torch.set_num_threads(threads)


def replay(tmp_path, name, run):
    row = committed(name)[run.name]
    config = run.config.replace(epochs=REPLAY_EPOCHS)
    store.write_config(tmp_path, config)
    start = store.read_run(run.start)[1] if run.start is not None else None
    history = train(config, tmp_path, keep_checkpoints=False, start_state=start).history
    curve = row["curve"]
    for i, epoch in enumerate(curve["epoch"]):
        if epoch > REPLAY_EPOCHS:
            break
        j = history["epoch"].index(epoch)
        for key in ("train_loss", "test_loss", "test_acc", "weight_norm"):
            assert history[key][j] == pytest.approx(curve[key][i], rel=1e-3, abs=1e-12), (epoch, key)
