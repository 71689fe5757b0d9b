"""The run store: safetensors + JSON, atomic writes, clear errors naming the file."""

import hashlib
import io
import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from grokking.model import build_model, weight_shapes
from grokking.runs import store
from grokking.runs.load import is_finished_run, load_run, require_run
from grokking.training.loop import model_state

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run_dir(tmp_path, tiny_config):
    model = build_model(tiny_config)
    history = {"epoch": [0, 10], "train_loss": [1.0, 0.5], "train_acc": [0.1, 0.2],
               "test_loss": [1.1, 0.9], "test_acc": [0.0, 0.1], "weight_norm": [3.0, 2.9]}
    store.write_final(tmp_path / "run", tiny_config, model_state(model), history)
    return tmp_path / "run"


def test_round_trip_and_strict_load(run_dir, tiny_config):
    run = load_run(run_dir)
    assert run.config == tiny_config
    assert run.history["epoch"].tolist() == [0, 10]
    # The weights file loads into a fresh HookedTransformer as it is (TransformerLens names).
    fresh = build_model(tiny_config.replace(model_seed=1))
    fresh.load_state_dict(store.load_tensors(run_dir / "model.safetensors"), strict=True)
    for (k, a), (_, b) in zip(fresh.state_dict().items(), run.model.state_dict().items(), strict=False):
        assert torch.equal(a, b), k
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["torch_version"] == torch.__version__
    assert set(manifest["files"]) == {"config.json", "model.safetensors", "history.json"}


class Planted:
    """Unpickling this creates ``marker``: a pickle payload that shows whether anything unpickled it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def pickle_payloads(marker) -> dict[str, bytes]:
    zipped, legacy = io.BytesIO(), io.BytesIO()
    torch.save({"embed.W_E": Planted(marker)}, zipped)
    torch.save({"embed.W_E": Planted(marker)}, legacy, _use_new_zipfile_serialization=False)
    return {"pickle": pickle.dumps(Planted(marker)), "torch zip": zipped.getvalue(), "torch legacy": legacy.getvalue()}


def set_file(run_dir, name, data):
    """Replace a run's file and record its sha256 and size in the manifest, as a writer would."""
    (run_dir / name).write_bytes(data)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (run_dir / "manifest.json").write_text(json.dumps(manifest))


def test_the_planted_payload_is_live(tmp_path):
    """The control: unpickling the payload does create its marker (so its absence below means something)."""
    pickle.loads(pickle_payloads(tmp_path / "marker")["pickle"])
    assert (tmp_path / "marker").exists()


@pytest.mark.parametrize("kind", ["pickle", "torch zip", "torch legacy"])
def test_a_pickled_model_is_refused_unopened(run_dir, tmp_path, kind):
    marker = tmp_path / "unpickled"
    set_file(run_dir, "model.safetensors", pickle_payloads(marker)[kind])
    with pytest.raises(store.RunError, match=r"model\.safetensors: not a valid safetensors file") as err:
        load_run(run_dir)
    assert "\n" not in str(err.value)
    assert not marker.exists(), "the run store unpickled a file"
    (run_dir / "checkpoints").mkdir()
    (run_dir / "checkpoints" / "epoch_000020.safetensors").write_bytes(pickle_payloads(marker)[kind])
    with pytest.raises(store.RunError, match=r"epoch_000020\.safetensors: not a valid safetensors file"):
        store.load_tensors(run_dir / "checkpoints" / "epoch_000020.safetensors")
    assert not marker.exists(), "the run store unpickled a checkpoint"


def test_no_pickle_in_the_package():
    """Nothing in grokking/ can unpickle: no torch.load (weights_only or not), no pickle module."""
    sources = sorted((ROOT / "grokking").rglob("*.py"))
    assert len(sources) > 10
    for path in sources:
        text = path.read_text()
        for word in ("torch.load", "pickle", "weights_only", "torch.serialization", "from torch import load"):
            assert word not in text, f"{path.relative_to(ROOT)} uses {word}"


@pytest.mark.parametrize("name", ["config.json", "model.safetensors", "history.json", "manifest.json"])
def test_missing_file_named(run_dir, name):
    (run_dir / name).unlink()
    with pytest.raises(store.RunError, match=name.replace(".", r"\.") + ": file is missing"):
        store.read_run(run_dir)
    if name == "manifest.json":
        # The manifest is written last: without it the folder holds no finished run, and
        # load_run says where it looked and how to make one.
        with pytest.raises(store.RunError, match=r"no finished run at .*manifest\.json\); train one with"):
            load_run(run_dir)
    else:
        with pytest.raises(store.RunError, match=name.replace(".", r"\.") + ": file is missing"):
            load_run(run_dir)


def test_truncated_weights_named(run_dir):
    path = run_dir / "model.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(store.RunError, match=r"model\.safetensors: truncated or altered"):
        load_run(run_dir)


def test_altered_history_named(run_dir):
    path = run_dir / "history.json"
    path.write_text(path.read_text().replace("0.5", "0.6"))
    with pytest.raises(store.RunError, match=r"history\.json: altered"):
        load_run(run_dir)


def test_config_not_matching_weights(run_dir, tiny_config, tmp_path):
    # Rewrite config and manifest consistently with a different width: the shapes give it away.
    other = tmp_path / "other"
    shutil.copytree(run_dir, other)
    state = store.load_tensors(other / "model.safetensors")
    history = json.loads((other / "history.json").read_text())
    store.write_final(other, tiny_config.replace(d_mlp=128), state, history)
    with pytest.raises(store.RunError, match=r"model\.safetensors: blocks\.0\.mlp\.W_in has shape"):
        load_run(other)


def test_invalid_config_named(run_dir, tiny_config):
    # The manifest is rewritten for the new config.json, so the config check itself must fire
    # (not the sha256 check).
    set_file(run_dir, "config.json", b'{"p": 4}')
    with pytest.raises(store.RunError, match=r"config\.json: missing keys: frac_train, split_seed, model_seed") as err:
        load_run(run_dir)
    assert str(err.value).startswith(f"{run_dir / 'config.json'}: ")
    set_file(run_dir, "config.json", json.dumps({**tiny_config.to_dict(), "p": 4}).encode())
    with pytest.raises(store.RunError, match=r"config\.json: invalid config \(p must be a prime") as err:
        load_run(run_dir)
    assert "\n" not in str(err.value)


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "x.json"
    store.atomic_write_json(target, {"a": 1})

    def boom(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store.os, "replace", boom)
    with pytest.raises(OSError):  # noqa: PT011 - whatever the rename raised, the old file must survive
        store.atomic_write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_run_dir_not_found(tmp_path):
    with pytest.raises(store.RunError, match="does not exist"):
        store.verify_run(tmp_path / "nope")
    with pytest.raises(store.RunError, match=r"no finished run at .*nope") as err:
        load_run(tmp_path / "nope")
    assert "\n" not in str(err.value)
    assert f"--out {tmp_path / 'nope'}" in str(err.value)


def test_finished_run_is_the_one_with_a_manifest(run_dir, tmp_path):
    assert is_finished_run(run_dir)
    assert require_run(run_dir) == run_dir
    assert require_run(str(run_dir)) == run_dir
    started = tmp_path / "started"
    store.write_config(started, store.load_config(run_dir))  # config.json alone: not finished
    assert not is_finished_run(started)
    assert not is_finished_run(tmp_path / "nope")
    with pytest.raises(store.RunError, match="no finished run at"):
        require_run(started)


def test_write_config_is_the_one_config_format(tmp_path, tiny_config):
    store.write_config(tmp_path / "new" / "run", tiny_config)  # makes the folder
    path = tmp_path / "new" / "run" / "config.json"
    assert path.read_bytes() == store.config_bytes(tiny_config) == tiny_config.to_json().encode()
    assert store.load_config(path.parent) == tiny_config


def test_weight_shapes_match_a_built_model(tiny_config):
    state = build_model(tiny_config).state_dict()
    shapes = weight_shapes(tiny_config)
    assert set(shapes) <= set(state)
    for name, shape in shapes.items():
        assert tuple(state[name].shape) == shape, name
    store.check_weights_match(tiny_config, state, "model.safetensors")  # no error
