"""The run store reads only what belongs to a run, and every schema problem is one line naming the file.

Each damaged run below plants one problem. Where the manifest's sha256 would catch the
change first, the manifest is rewritten for the altered file so the schema check itself
is what must fire.
"""

import hashlib
import json
import os
import random
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save as st_save

from grokking.model import build_model
from grokking.runs import store
from grokking.runs.load import load_run
from grokking.training.loop import model_state

ROOT = Path(__file__).resolve().parents[2]
HISTORY = {"epoch": [0, 10], "train_loss": [1.0, 0.5], "train_acc": [0.1, 0.2],
           "test_loss": [1.1, 0.9], "test_acc": [0.0, 0.1], "weight_norm": [3.0, 2.9]}


@pytest.fixture
def run_dir(tmp_path, tiny_config):
    store.write_final(tmp_path / "run", tiny_config, model_state(build_model(tiny_config)), HISTORY)
    return tmp_path / "run"


# ------------------------------------------------------------------ planting damage
def read_manifest(run_dir):
    return json.loads((run_dir / "manifest.json").read_text())


def write_manifest(run_dir, manifest):
    (run_dir / "manifest.json").write_text(json.dumps(manifest))


def list_file(run_dir, name, data: bytes):
    """Record ``name`` in the manifest with the sha256 and size of ``data`` (the file itself untouched)."""
    manifest = read_manifest(run_dir)
    manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    write_manifest(run_dir, manifest)


def rewrite(run_dir, name, data: bytes):
    """Replace ``name`` with ``data`` and make the manifest agree, so only the schema can object."""
    (run_dir / name).write_bytes(data)
    list_file(run_dir, name, data)


def rewrite_json(run_dir, name, change):
    obj = json.loads((run_dir / name).read_text())
    obj = change(obj) or obj
    rewrite(run_dir, name, json.dumps(obj).encode())


def rewrite_text(run_dir, name, text):
    rewrite(run_dir, name, text.encode())


def rewrite_weights(run_dir, change):
    state = store.load_tensors(run_dir / "model.safetensors")
    change(state)
    rewrite(run_dir, "model.safetensors", st_save({k: v.contiguous() for k, v in state.items()}))


def change_manifest(change):
    def plant(run_dir, _tmp):
        manifest = read_manifest(run_dir)
        manifest = change(manifest) or manifest
        write_manifest(run_dir, manifest)
    return plant


def set_entry(name, **values):
    def change(manifest):
        manifest["files"][name].update(values)
    return change_manifest(change)


def list_name(name, data=b""):
    def plant(run_dir, _tmp):
        list_file(run_dir, name, data)
    return plant


def symlink_outside(run_dir, tmp):
    (tmp / "secret.bin").write_bytes(b"not the run's")
    (run_dir / "linked.bin").symlink_to(tmp / "secret.bin")
    list_file(run_dir, "linked.bin", b"not the run's")


def symlink_inside(run_dir, _tmp):
    (run_dir / "alias.json").symlink_to(run_dir / "config.json")
    list_file(run_dir, "alias.json", (run_dir / "config.json").read_bytes())


def symlinked_folder(run_dir, tmp):
    (tmp / "elsewhere").mkdir()
    (tmp / "elsewhere" / "x.bin").write_bytes(b"x")
    (run_dir / "sub").symlink_to(tmp / "elsewhere")
    list_file(run_dir, "sub/x.bin", b"x")


def symlink_to_dev_zero(run_dir, _tmp):
    (run_dir / "zero").symlink_to("/dev/zero")
    list_file(run_dir, "zero", b"")


def fifo(run_dir, _tmp):
    os.mkfifo(run_dir / "pipe")
    list_file(run_dir, "pipe", b"")


def folder(run_dir, _tmp):
    (run_dir / "checkpoints").mkdir()
    list_file(run_dir, "checkpoints", b"")


def symlinked_manifest(run_dir, tmp):
    (run_dir / "manifest.json").rename(tmp / "manifest.json")
    (run_dir / "manifest.json").symlink_to(tmp / "manifest.json")


def config_change(change):
    return lambda run_dir, _tmp: rewrite_json(run_dir, "config.json", change)


def config_text(text):
    return lambda run_dir, _tmp: rewrite_text(run_dir, "config.json", text)


def history_change(change):
    return lambda run_dir, _tmp: rewrite_json(run_dir, "history.json", change)


def history_text(text):
    return lambda run_dir, _tmp: rewrite_text(run_dir, "history.json", text)


def weights_change(change):
    return lambda run_dir, _tmp: rewrite_weights(run_dir, change)


def weights_bytes(data):
    return lambda run_dir, _tmp: rewrite(run_dir, "model.safetensors", data)


def header(obj) -> bytes:
    text = json.dumps(obj).encode()
    return len(text).to_bytes(8, "little") + text


W_E, W_U, MASK = "embed.W_E", "unembed.W_U", "blocks.0.attn.mask"

# (id, plant(run_dir, tmp_path), the file the message names, what it says is wrong)
DAMAGE = [
    # the manifest: only plain relative names of regular files inside the run directory
    ("absolute path", list_name("/etc/passwd"), "manifest.json", r"lists '/etc/passwd', an absolute path"),
    ("dev zero", list_name("/dev/zero"), "manifest.json", r"lists '/dev/zero', an absolute path"),
    ("dotdot", list_name("../run/config.json"), "manifest.json", r"a path with '\.\.'"),
    ("dotdot inside", list_name("checkpoints/../config.json"), "manifest.json", r"a path with '\.\.'"),
    ("empty name", list_name(""), "manifest.json", r"lists an empty file name"),
    ("nul", list_name("config.json\x00x"), "manifest.json", r"NUL or control character"),
    ("newline", list_name("a\nb"), "manifest.json", r"NUL or control character"),
    ("backslash", list_name("..\\config.json"), "manifest.json", r"a backslash"),
    ("dot", list_name("./config.json"), "manifest.json", r"not a plain relative path"),
    ("double slash", list_name("checkpoints//x"), "manifest.json", r"not a plain relative path"),
    ("trailing slash", list_name("checkpoints/"), "manifest.json", r"not a plain relative path"),
    ("symlink outside", symlink_outside, "linked.bin", r"lies outside the run directory"),
    ("symlinked folder", symlinked_folder, "sub/x.bin", r"lies outside the run directory"),
    ("symlink to dev zero", symlink_to_dev_zero, "zero", r"lies outside the run directory"),
    ("symlink inside", symlink_inside, "alias.json", r"not a regular file \(a symbolic link\)"),
    ("fifo", fifo, "pipe", r"not a regular file \(a FIFO\)"),
    ("directory", folder, "checkpoints", r"not a regular file \(a directory\)"),
    ("oversized bytes", set_entry("model.safetensors", bytes=store.MAX_FILE_BYTES + 1), "manifest.json",
     r"bytes of model\.safetensors is \d+, more than a run file may hold"),
    ("wrong bytes", set_entry("model.safetensors", bytes=10), "model.safetensors",
     r"truncated or altered \(\d+ bytes, manifest says 10\)"),
    ("negative bytes", set_entry("config.json", bytes=-1), "manifest.json", r"bytes of config\.json is -1, not an int"),
    ("bool bytes", set_entry("config.json", bytes=True), "manifest.json", r"bytes of config\.json is True, not an int"),
    ("string bytes", set_entry("config.json", bytes="332"), "manifest.json", r"bytes of config\.json is '332'"),
    ("short sha", set_entry("config.json", sha256="abc"), "manifest.json", r"sha256 of config\.json is 'abc', not 64"),
    ("upper sha", set_entry("config.json", sha256="A" * 64), "manifest.json", r"sha256 of config\.json is 'AAAA"),
    ("int sha", set_entry("config.json", sha256=7), "manifest.json", r"sha256 of config\.json is 7"),
    ("extra entry key", set_entry("config.json", mode="x"), "manifest.json", r"entry of config\.json is not an object"),
    ("entry not object", change_manifest(lambda m: m["files"].update({"config.json": [1, 2]})), "manifest.json",
     r"entry of config\.json is not an object"),
    ("manifest not object", change_manifest(lambda m: ["files"]), "manifest.json", r"not a JSON object"),
    ("files not dict", change_manifest(lambda m: m.update(files=list(m["files"]))), "manifest.json",
     r"files is not an object"),
    ("files missing", change_manifest(lambda m: m.pop("files") and None), "manifest.json", r"files is not an object"),
    ("history not listed", change_manifest(lambda m: m["files"].pop("history.json") and None), "manifest.json",
     r"does not list history\.json"),
    ("manifest symlink", symlinked_manifest, "manifest.json", r"not a regular file \(a symbolic link\)"),
    ("manifest nan", lambda run_dir, _tmp: (run_dir / "manifest.json").write_text('{"files": NaN}'),
     "manifest.json", r"not valid JSON \(NaN is not a JSON number"),
    # config.json: every field of Config, of its type, and no other
    ("config missing key", config_change(lambda c: c.pop("lr") and None), "config.json", r"missing keys: lr$"),
    ("config string number", config_change(lambda c: c.update(p="23")), "config.json", r"invalid config \(.*\bp\b"),
    ("config bool", config_change(lambda c: c.update(d_model=True)), "config.json", r"invalid config \(.*d_model"),
    ("config float for int", config_change(lambda c: c.update(epochs=60.0)), "config.json",
     r"invalid config \(.*epochs"),
    ("config list", config_change(lambda c: c.update(lr=[0.001])), "config.json", r"invalid config \(.*lr"),
    ("config null", config_change(lambda c: c.update(beta1=None)), "config.json", r"invalid config \(.*beta1"),
    ("config huge int", config_change(lambda c: c.update(lr=10**400)), "config.json", r"invalid config"),
    ("config unknown key", config_change(lambda c: c.update(colour="red")), "config.json", r"unknown keys: colour$"),
    ("config infinity", config_text('{"lr": Infinity}'), "config.json", r"not valid JSON \(Infinity"),
    ("config not object", config_text("[1, 2]"), "config.json", r"not a JSON object"),
    # history.json: exactly HISTORY_KEYS, equal non-empty lists of finite numbers
    ("history missing key", history_change(lambda h: h.pop("weight_norm") and None), "history.json",
     r"missing keys: weight_norm$"),
    ("history extra key", history_change(lambda h: h.update(lr=[1, 2])), "history.json", r"unknown keys: lr$"),
    ("history empty list", history_change(lambda h: h.update(test_acc=[])), "history.json",
     r"test_acc is not a non-empty list"),
    ("history all empty", history_change(lambda h: {k: [] for k in h}), "history.json",
     r"epoch is not a non-empty list"),
    ("history not list", history_change(lambda h: h.update(train_loss={"0": 1.0})), "history.json",
     r"train_loss is not a non-empty list"),
    ("history unequal", history_change(lambda h: h["train_loss"].append(0.1)), "history.json",
     r"lists of different lengths \(epoch 2, train_loss 3,"),
    ("history strings", history_change(lambda h: h.update(test_loss=["1.1", "0.9"])), "history.json",
     r"test_loss holds '1\.1'; a finished run's metrics are finite numbers"),
    ("history bool", history_change(lambda h: h.update(train_acc=[True, False])), "history.json",
     r"train_acc holds True"),
    ("history null", history_change(lambda h: h.update(weight_norm=[None, 1.0])), "history.json",
     r"weight_norm holds None"),
    ("history nan", history_text(json.dumps(HISTORY).replace("0.5", "NaN")), "history.json",
     r"not valid JSON \(NaN is not a JSON number"),
    ("history infinity", history_text(json.dumps(HISTORY).replace("0.9", "-Infinity")), "history.json",
     r"not valid JSON \(-Infinity is not a JSON number"),
    ("history huge number", history_text(json.dumps(HISTORY).replace("0.9", "1" + "0" * 400)), "history.json",
     r"test_loss holds 1000"),
    ("history epochs repeat", history_change(lambda h: h.update(epoch=[10, 10])), "history.json",
     r"epochs are not strictly increasing"),
    ("history epochs decrease", history_change(lambda h: h.update(epoch=[10, 0])), "history.json",
     r"epochs are not strictly increasing"),
    ("history float epoch", history_change(lambda h: h.update(epoch=[0, 10.0])), "history.json",
     r"epoch holds 10\.0; epochs are ints"),
    ("history negative epoch", history_change(lambda h: h.update(epoch=[-10, 0])), "history.json",
     r"epoch holds -10"),
    ("history accuracy above one", history_change(lambda h: h.update(test_acc=[0.0, 1.5])), "history.json",
     r"test_acc holds 1\.5, outside \[0, 1\]"),
    ("history negative loss", history_change(lambda h: h.update(train_loss=[1.0, -0.5])), "history.json",
     r"train_loss holds -0\.5, outside \[0, inf\]"),
    ("history not object", history_text("[[0, 10]]"), "history.json", r"not a training history"),
    # model.safetensors: exactly the tensors the trainer saves, each of its shape and a float dtype
    ("weights missing tensor", weights_change(lambda s: s.pop(W_U)), "model.safetensors",
     r"weight unembed\.W_U is missing"),
    ("weights missing buffer", weights_change(lambda s: s.pop("blocks.0.attn.IGNORE")), "model.safetensors",
     r"weight blocks\.0\.attn\.IGNORE is missing"),
    ("weights extra tensor", weights_change(lambda s: s.update(extra=torch.zeros(2))), "model.safetensors",
     r"tensors 'extra' do not belong to the model"),
    ("weights int W_E", weights_change(lambda s: s.update({W_E: s[W_E].to(torch.int64)})), "model.safetensors",
     r"embed\.W_E has dtype torch\.int64; weights are float32 or float64"),
    ("weights half bias", weights_change(lambda s: s.update({"unembed.b_U": s["unembed.b_U"].half()})),
     "model.safetensors", r"unembed\.b_U has dtype torch\.float16"),
    ("weights float mask", weights_change(lambda s: s.update({MASK: s[MASK].float()})), "model.safetensors",
     r"buffer blocks\.0\.attn\.mask has dtype torch\.float32, the model's is torch\.bool"),
    ("weights wrong shape", weights_change(lambda s: s.update({W_E: s[W_E].T})), "model.safetensors",
     r"embed\.W_E has shape \(32, 24\) but config\.json implies \(24, 32\)"),
    ("weights wrong bias shape", weights_change(lambda s: s.update({"unembed.b_U": torch.zeros(5)})),
     "model.safetensors", r"unembed\.b_U has shape \(5,\)"),
    ("weights not safetensors", weights_bytes(b"\x80\x04K\x01."), "model.safetensors",
     r"not a valid safetensors file \(5 bytes"),
    ("header longer than file", weights_bytes((10**6).to_bytes(8, "little") + b"{}"), "model.safetensors",
     r"not a valid safetensors file \(header of 1000000 bytes in a file of 10\)"),
    ("header huge", weights_bytes((2**63).to_bytes(8, "little") + b"{}" * 100), "model.safetensors",
     r"not a valid safetensors file \(header of \d+ bytes"),
    ("header not object", weights_bytes(header([1, 2])), "model.safetensors", r"header is not a JSON object"),
    ("header not json", weights_bytes(b"\x04" + bytes(7) + b"{{{{"), "model.safetensors", r"header is not JSON"),
    ("metadata not strings", weights_bytes(header({"__metadata__": {"a": 1}})), "model.safetensors",
     r"__metadata__ must map strings to strings"),
]


def raised_within(call, pipes=(), seconds=5.0):
    """The exception ``call()`` raises (None if it returns), failing if it takes over ``seconds``
    (a reader blocked opening one of the FIFOs ``pipes`` is freed first)."""
    outcome = {}

    def target():
        try:
            call()
            outcome["error"] = None
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        for pipe in pipes:
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"{call} did not return within {seconds} s")
    return outcome["error"]


def load_within(run_dir):
    """The error ``load_run(run_dir)`` raises (None if it loads), failing if it takes over 5 s."""
    return raised_within(lambda: load_run(run_dir), pipes=list(run_dir.glob("pipe")))


# Files a reader that forgot its checks would never finish reading (a FIFO blocks, /dev/zero
# never ends): these are first tried in a child process with a time and memory limit, so a
# regression fails the test instead of hanging it or filling the machine's memory.
HAZARDS = {"dev zero", "symlink to dev zero", "fifo"}
IN_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
from grokking.runs import store
try:
    getattr(store, sys.argv[1])(sys.argv[2])
except store.RunError as exc:
    print(exc)
    sys.exit(3)
"""


def refused_in_child(function: str, path) -> str:
    """The message of the RunError ``store.<function>(path)`` raises in a child process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    try:
        done = subprocess.run([sys.executable, "-c", IN_CHILD, function, str(path)], capture_output=True,
                              text=True, timeout=60, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"store.{function}({path}) did not return within 60 s")
    assert done.returncode == 3, f"store.{function} did not raise RunError: {done.stdout}{done.stderr[-2000:]}"
    return done.stdout.strip()


@pytest.mark.parametrize(("case", "plant", "named", "wrong"), DAMAGE, ids=[case[0] for case in DAMAGE])
def test_damaged_run_is_one_line_naming_the_file(run_dir, tmp_path, case, plant, named, wrong):
    load_run(run_dir)  # the undamaged run loads
    plant(run_dir, tmp_path)
    messages = [refused_in_child("verify_run", run_dir)] if case in HAZARDS else []
    error = load_within(run_dir)
    assert isinstance(error, store.RunError), f"loaded, or raised {error!r}"
    for message in [*messages, str(error)]:
        assert "\n" not in message
        assert message.startswith(f"{run_dir / named}: "), message
        assert re.search(wrong, message), message
    with pytest.raises(store.RunError):  # the store's own reader refuses it too
        store.read_run(run_dir)


def test_every_damage_id_is_distinct():
    assert len({case[0] for case in DAMAGE}) == len(DAMAGE)
    assert HAZARDS.issubset(case[0] for case in DAMAGE)


# ------------------------------------------------------------------ what is accepted
def test_a_listed_extra_file_inside_the_run_loads(run_dir):
    (run_dir / "checkpoints").mkdir()
    rewrite(run_dir, "checkpoints/notes.bin", b"extra")
    assert "checkpoints/notes.bin" in store.verify_run(run_dir)["files"]
    load_run(run_dir)


def test_float64_weights_load(run_dir):
    rewrite_weights(run_dir, lambda s: s.update({k: v.double() for k, v in s.items() if v.is_floating_point()}))
    run = load_run(run_dir)  # float64 everywhere, the IGNORE buffer too; the bool mask stays bool
    assert run.model.W_E.dtype == torch.float32


def test_the_check_accepts_exactly_what_the_trainer_saves(tiny_config):
    state = model_state(build_model(tiny_config))
    assert state["blocks.0.attn.mask"].dtype == torch.bool  # a buffer, with its own dtype
    store.check_weights_match(tiny_config, state, "model.safetensors")
    assert set(store.state_layout(tiny_config)) == set(state)
    for name, (shape, dtype) in store.state_layout(tiny_config).items():
        assert shape == tuple(state[name].shape), name
        assert dtype == (None if state[name].is_floating_point() else state[name].dtype), name


def test_the_check_leaves_the_random_states_alone(tiny_config):
    state = model_state(build_model(tiny_config))

    def draws(check):
        torch.manual_seed(1)
        random.seed(1)
        np.random.seed(1)  # noqa: NPY002 - the legacy global state is the one TransformerLens seeds
        store.state_layout.cache_clear()
        if check:  # builds a model, and TransformerLens seeds torch, random and numpy
            store.check_weights_match(tiny_config, state, "model.safetensors")
        return torch.rand(3).tolist(), random.random(), int(np.random.randint(1 << 30))  # noqa: NPY002

    assert draws(check=True) == draws(check=False)


# ------------------------------------------------------------------ reading files
def test_read_bytes_refuses_devices_fifos_and_large_files(tmp_path):
    assert refused_in_child("read_bytes", "/dev/zero") == "/dev/zero: not a regular file (a character device)"
    os.mkfifo(tmp_path / "pipe")  # refused from its stat: never opened, never blocks
    assert refused_in_child("read_bytes", tmp_path / "pipe") == f"{tmp_path / 'pipe'}: not a regular file (a FIFO)"
    for path in ("/dev/zero", tmp_path / "pipe"):  # the same in this process, now known not to hang
        with pytest.raises(store.RunError, match=r": not a regular file \(a (character device|FIFO)\)$"):
            store.read_bytes(path)
    (tmp_path / "x").mkdir()
    with pytest.raises(store.RunError, match=r"x: not a regular file \(a directory\)$"):
        store.read_bytes(tmp_path / "x")
    big = tmp_path / "big.safetensors"
    with big.open("wb") as fh:
        fh.truncate(store.MAX_FILE_BYTES + 1)  # sparse: no disk used, nothing read
    with pytest.raises(store.RunError, match=rf"big\.safetensors: {store.MAX_FILE_BYTES + 1} bytes, more than"):
        store.load_tensors(big)
    (tmp_path / "link").symlink_to(tmp_path / "big.safetensors")
    with pytest.raises(store.RunError, match=r"link: not a regular file \(a symbolic link\)$"):
        store.read_bytes(tmp_path / "link", follow_symlinks=False)


def test_fifo_swapped_in_after_the_stat_is_refused_without_blocking(tmp_path, monkeypatch):
    """The file is opened non-blocking and checked again once open."""
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "plain").write_bytes(b"x")
    real_stat = os.stat
    monkeypatch.setattr(store.os, "stat", lambda path, **kw: real_stat(tmp_path / "plain", **kw))
    error = raised_within(lambda: store.read_bytes(tmp_path / "pipe"), pipes=[tmp_path / "pipe"])
    assert isinstance(error, store.RunError), repr(error)
    assert str(error) == f"{tmp_path / 'pipe'}: not a regular file (a FIFO)"


def test_check_history_rejects_python_non_finite_values(tmp_path):
    path = tmp_path / "history.json"
    store.check_history(HISTORY, path)
    for bad in (float("nan"), float("inf"), -float("inf"), 10**400):
        with pytest.raises(store.RunError, match=r"history\.json: train_loss holds .*finite numbers$"):
            store.check_history({**HISTORY, "train_loss": [1.0, bad]}, path)
    with pytest.raises(store.RunError, match=r"epoch holds 9007199254740992"):
        store.check_history({**HISTORY, "epoch": [0, 2**53]}, path)


def test_write_final_refuses_a_history_no_reader_accepts(tmp_path, tiny_config):
    state = model_state(build_model(tiny_config))
    with pytest.raises(store.RunError, match=r"run/history\.json: train_loss holds nan"):
        store.write_final(tmp_path / "run", tiny_config, state, {**HISTORY, "train_loss": [1.0, float("nan")]})
    assert not (tmp_path / "run" / "manifest.json").exists()


def test_safetensors_metadata_is_read_from_a_bounded_header(tmp_path):
    path = tmp_path / "x.safetensors"
    store.save_tensors(path, {"a": torch.zeros(2)}, {"epoch": "7"})
    tensors, metadata = store.load_tensors_with_metadata(path)
    assert metadata == {"epoch": "7"} and torch.equal(tensors["a"], torch.zeros(2))
    path.write_bytes(header({"__metadata__": {"epoch": 7}}))
    with pytest.raises(store.RunError, match=r"x\.safetensors: .*\(__metadata__ must map strings to strings\)$"):
        store.load_tensors_with_metadata(path)
    path.write_bytes(b"\x01\x00")
    with pytest.raises(store.RunError, match=r"x\.safetensors: not a valid safetensors file \(2 bytes"):
        store.load_tensors_with_metadata(path)


# ------------------------------------------------------------------ checkpoints
def test_checkpoints_go_through_the_same_check(run_dir, tiny_config):
    state = model_state(build_model(tiny_config))
    store.save_tensors(store.checkpoint_path(run_dir, 20), state)
    bad = {**state, W_E: state[W_E].to(torch.int64)}
    store.save_tensors(store.checkpoint_path(run_dir, 40), bad)
    run = load_run(run_dir)
    assert run.checkpoint_epochs == [20, 40]
    assert set(run.checkpoint_state(20)) == set(state)
    with pytest.raises(store.RunError, match=r"epoch_000040\.safetensors: embed\.W_E has dtype torch\.int64"):
        run.checkpoint_state(40)
    store.save_tensors(store.checkpoint_path(run_dir, 60), {k: v for k, v in state.items() if k != W_U})
    with pytest.raises(store.RunError, match=r"epoch_000060\.safetensors: weight unembed\.W_U is missing$"):
        run.checkpoint_state(60)


def test_checkpoint_epochs_are_only_the_files_named_as_written(run_dir):
    folder = run_dir / "checkpoints"
    folder.mkdir()
    for name in ("epoch_000020.safetensors", "epoch_7.safetensors", "epoch_abc.safetensors",
                 "epoch_000030.safetensors.bak", "resume.safetensors"):
        (folder / name).write_bytes(b"")
    assert store.checkpoint_epochs(run_dir) == [20]


# ------------------------------------------------------------------ durable writes
def test_finished_run_files_are_synced_the_manifest_last(tmp_path, tiny_config, monkeypatch):
    writes, syncs = [], []
    real_write, real_fsync = store.atomic_write_bytes, os.fsync

    def write(path, data, *, fsync=False):
        writes.append((path.name, fsync))
        real_write(path, data, fsync=fsync)

    monkeypatch.setattr(store, "atomic_write_bytes", write)
    monkeypatch.setattr(store.os, "fsync", lambda fd: syncs.append(fd) or real_fsync(fd))
    store.write_final(tmp_path / "run", tiny_config, model_state(build_model(tiny_config)), HISTORY)
    assert sorted(writes[:-1]) == [("config.json", True), ("history.json", True), ("model.safetensors", True)]
    assert writes[-1] == ("manifest.json", True)
    assert len(syncs) == 2 * len(writes)  # each file before its rename, the folder after it
    writes.clear()
    store.add_file(tmp_path / "run", "progress.safetensors", b"data")
    assert writes == [("progress.safetensors", True), ("manifest.json", True)]
    store.verify_run(tmp_path / "run")


def test_checkpoints_are_not_synced(tmp_path, monkeypatch):
    syncs = []
    monkeypatch.setattr(store.os, "fsync", syncs.append)
    store.save_tensors(tmp_path / "checkpoints" / "epoch_000100.safetensors", {"a": torch.zeros(1)})
    store.atomic_write_json(tmp_path / "x.json", {"a": 1})
    assert syncs == []


def test_add_file_refuses_names_outside_the_run_and_damaged_manifests(run_dir):
    with pytest.raises(store.RunError, match=r"manifest\.json: lists '\.\./x', a path with '\.\.'$"):
        store.add_file(run_dir, "../x", b"x")
    assert not (run_dir.parent / "x").exists()
    (run_dir.parent / "elsewhere").mkdir()
    (run_dir / "sub").symlink_to(run_dir.parent / "elsewhere")
    with pytest.raises(store.RunError, match=r"run/sub/x: lies outside the run directory"):
        store.add_file(run_dir, "sub/x", b"x")
    assert not (run_dir.parent / "elsewhere" / "x").exists()
    change_manifest(lambda m: m.update(files=[]))(run_dir, None)
    with pytest.raises(store.RunError, match=r"manifest\.json: files is not an object"):
        store.add_file(run_dir, "progress.safetensors", b"x")
    assert not (run_dir / "progress.safetensors").exists()
