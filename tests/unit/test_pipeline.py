"""The pipeline: the committed run or nothing unless asked to retrain; train then measure; progress written."""

import pytest
import torch

from grokking.analysis.progress import MEASURES, load_progress
from grokking.model import build_model
from grokking.pipeline import load_or_train, train_and_measure, write_progress
from grokking.runs import store
from grokking.runs.load import config_key, load_run
from grokking.training.loop import model_state


@pytest.fixture
def committed(tmp_path, tiny_config):
    """A finished (untrained) run of tiny_config standing in for the committed one."""
    history = {"epoch": [0], "train_loss": [1.0], "train_acc": [0.1], "test_loss": [1.1], "test_acc": [0.0],
               "weight_norm": [3.0]}
    store.write_final(tmp_path / "committed", tiny_config, model_state(build_model(tiny_config)), history)
    return tmp_path / "committed"


def test_without_retrain_the_committed_run_loads(committed, tiny_config, tmp_path):
    run = load_or_train(tiny_config, committed=committed, cache_dir=tmp_path / "cache")
    assert run.path == committed
    assert run.config == tiny_config
    assert not (tmp_path / "cache").exists()


def test_without_retrain_nothing_trains(committed, tiny_config, tmp_path):
    with pytest.raises(store.RunError, match="no finished run at") as err:
        load_or_train(tiny_config, committed=tmp_path / "missing", cache_dir=tmp_path / "cache")
    assert "\n" not in str(err.value)
    assert "python -m grokking train" in str(err.value)
    with pytest.raises(store.RunError, match=r"config\.json: holds another config") as err:
        load_or_train(tiny_config.replace(epochs=40), committed=committed, cache_dir=tmp_path / "cache")
    assert "\n" not in str(err.value)
    assert "retrain=True" in str(err.value)
    with pytest.raises(store.RunError, match="holds another config"):
        load_or_train(committed=committed, cache_dir=tmp_path / "cache")  # None: the default config
    assert not (tmp_path / "cache").exists()


def test_retrain_trains_once_into_the_cache_by_config(tiny_config, tmp_path):
    rows = []
    cache = tmp_path / "cache"
    run = load_or_train(tiny_config, committed=tmp_path / "missing", cache_dir=cache, retrain=True,
                        on_record=rows.append)
    assert run.path == cache / config_key(tiny_config)
    assert run.config == tiny_config
    assert [r["epoch"] for r in rows] == list(range(0, tiny_config.epochs + 1, tiny_config.eval_every))
    progress = load_progress(run.path)  # measured after training
    assert progress["epoch"].tolist() == [0, 20, 40, 60]
    stamp = (run.path / store.MANIFEST).stat().st_mtime_ns
    again = load_or_train(tiny_config, committed=tmp_path / "missing", cache_dir=cache, retrain=True,
                          on_record=rows.append)
    assert again.path == run.path
    assert len(rows) == 7
    assert (run.path / store.MANIFEST).stat().st_mtime_ns == stamp
    for key in run.history:
        assert torch.equal(again.history[key], run.history[key]), key


def test_train_and_measure_writes_config_and_progress(tiny_config, tmp_path):
    run = train_and_measure(tiny_config, tmp_path / "r")
    assert store.load_config(tmp_path / "r") == tiny_config
    measures = load_progress(tmp_path / "r")
    for key in MEASURES:
        assert measures[key].shape == (4,) and torch.isfinite(measures[key]).all(), key
    assert int(run.history["epoch"][-1]) == tiny_config.epochs
    # write_progress recomputes the same measures from the checkpoints, with the final key frequencies
    again = write_progress(tmp_path / "r")
    assert torch.equal(again["restricted_loss"], measures["restricted_loss"])
    store.verify_run(tmp_path / "r")  # the manifest lists the progress file
    assert load_run(tmp_path / "r").config == tiny_config
