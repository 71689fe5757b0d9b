"""Over a hundred bad inputs to the command line, one table.

Each case prepares a folder, runs ``python -m grokking`` (in process: ``cli.main``) and
asserts: the exit status (2 for bad arguments, 1 for bad files or runs), exactly one
line on stderr that starts ``grokking: error:`` and names the problem, no traceback,
and the folder's file tree unchanged, byte for byte (hashed before and after).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save

from grokking.cli import main
from grokking.config import Config
from grokking.runs import store
from grokking.runs.lock import RunLock
from grokking.training.loop import train

TINY = ["--p", "7", "--epochs", "20"]  # the smallest real run: a second of training
BIG_PRIME = str(10**18 + 9)  # prime; the old check would loop for hours


# ------------------------------------------------------------------ prepared folders
@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """A finished tiny run and an interrupted one, made once and copied into each case."""
    root = tmp_path_factory.mktemp("templates")
    assert main(["train", "--out", str(root / "finished"), *TINY]) == 0
    config = Config(p=7, epochs=20)
    store.write_config(root / "interrupted", config)
    stops = iter([False] * 5 + [True] * 1000)
    result = train(config, root / "interrupted", should_stop=lambda: next(stops))
    assert not result.finished
    assert main(["train", "--out", str(root / "failed"), "--p", "7", "--epochs", "50",
                 "--weight-decay", "0", "--lr", "1e30"]) == 1
    return root


def finished(case: Path, templates: Path) -> Path:
    shutil.copytree(templates / "finished", case / "run")
    return case / "run"


def interrupted(case: Path, templates: Path) -> Path:
    shutil.copytree(templates / "interrupted", case / "run")
    return case / "run"


def failed(case: Path, templates: Path) -> Path:
    shutil.copytree(templates / "failed", case / "run")
    return case / "run"


def reseal(run: Path, name: str) -> None:
    """Update the manifest for an altered file, so the check behind the sha256 is reached."""
    manifest = json.loads((run / store.MANIFEST).read_text())
    data = (run / name).read_bytes()
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (run / store.MANIFEST).write_text(json.dumps(manifest))


def edit_json(run: Path, name: str, change) -> None:
    obj = json.loads((run / name).read_text())
    obj = change(obj)
    (run / name).write_text(json.dumps(obj) if not isinstance(obj, str) else obj)
    reseal(run, name)


def set_key(key, value):
    def change(obj):
        obj[key] = value
        return obj
    return change


def drop_key(key):
    def change(obj):
        del obj[key]
        return obj
    return change


def edit_weights(run: Path, change) -> None:
    tensors = store.load_tensors(run / store.MODEL)
    change(tensors)
    (run / store.MODEL).write_bytes(st_save({k: v.contiguous() for k, v in tensors.items()}))
    reseal(run, store.MODEL)


def manifest_entry(name: str, make=None):
    """A manifest that also lists ``name`` (made by ``make(run)`` first, when given)."""
    def setup(case, templates):
        run = finished(case, templates)
        if make is not None:
            make(run)
        manifest = json.loads((run / store.MANIFEST).read_text())
        manifest["files"][name] = {"sha256": "0" * 64, "bytes": 10}
        (run / store.MANIFEST).write_text(json.dumps(manifest))
        return run
    return setup


def damaged(change):
    def setup(case, templates):
        run = finished(case, templates)
        change(run)
        return run
    return setup


def file_at(name: str, text: str = "x"):
    def setup(case, _templates):
        (case / name).write_text(text)
    return setup


def foreign_dir(case, _templates):
    (case / "theirs").mkdir()
    (case / "theirs" / "notes.txt").write_text("mine")
    (case / "theirs" / store.CONFIG).write_text('{"theirs": true}')


def lone_config(case, _templates):
    store.write_config(case / "run", Config(p=7, epochs=20))


def run_with_extra_file(case, templates):
    run = finished(case, templates)
    (run / "notes.txt").write_text("mine")


def no_checkpoints(case, templates):
    run = finished(case, templates)
    shutil.rmtree(run / store.CHECKPOINTS)


# ------------------------------------------------------------------ the table
R = "{run}"  # replaced by the case's run folder
C = "{case}"  # replaced by the case folder

USAGE, RUN = 2, 1
CASES = [
    # --- class: top level
    ("top", [], USAGE, "required"),
    ("top", ["frobnicate"], USAGE, "invalid choice"),
    ("top", ["--debug"], USAGE, "required"),
    ("top", ["train", "--bogus"], USAGE, "unrecognized arguments"),
    ("top", ["train", "extra"], USAGE, "unrecognized arguments"),
    ("top", ["info"], USAGE, "required"),
    ("top", ["progress"], USAGE, "required"),
    ("top", ["sweep"], USAGE, "required"),
    # --- class: train numbers (checked before anything is created)
    *[("train-number", ["train", "--p", v], USAGE, m) for v, m in [
        ("4", "prime between 3 and"), ("2", "prime between 3 and"), ("1", "prime between 3 and"),
        ("0", "prime between 3 and"), ("-7", "prime between 3 and"), ("9", "prime between 3 and"),
        ("503", "prime between 3 and"), (BIG_PRIME, "prime between 3 and"), ("7.0", "invalid int"),
        ("seven", "invalid int"), ("", "invalid int"), ("1e3", "invalid int")]],
    *[("train-number", ["train", "--frac-train", *v.split()], USAGE, m) for v, m in [
        ("0", "frac_train must lie in (0, 1)"), ("1", "frac_train must lie in (0, 1)"),
        ("1.5", "frac_train must lie in (0, 1)"), ("-0.1", "frac_train must lie in (0, 1)"),
        ("nan", "frac_train must be finite"), ("inf", "frac_train must be finite"),
        ("1e-9", "both splits need at least one"), ("0.05 --p 3", "both splits need at least one"),
        ("half", "invalid float")]],
    *[("train-number", ["train", opt] + ([] if v is None else [v]), USAGE, m) for opt, v, m in [
        ("--seed", "-1", "model_seed must lie in"), ("--seed", str(2**64), "model_seed must lie in"),
        ("--seed", "1.5", "invalid int"), ("--split-seed", "-5", "split_seed must lie in"),
        ("--split-seed", str(2**60), "split_seed must lie in"), ("--split-seed", "x", "invalid int"),
        ("--epochs", "-1", "epochs must lie in"), ("--epochs", str(10**9), "epochs must lie in"),
        ("--epochs", "1e3", "invalid int"), ("--epochs", "", "invalid int"),
        ("--weight-decay", "-1", "weight_decay must be >= 0"), ("--weight-decay", "nan", "weight_decay must be finite"),
        ("--weight-decay", "inf", "weight_decay must be finite"), ("--weight-decay", "x", "invalid float"),
        ("--weight-decay", "2000", "lr x weight_decay must be < 1"),
        ("--lr", "0", "lr must be > 0"), ("--lr=-1e-3", None, "lr must be > 0"),
        ("--lr", "nan", "lr must be finite"), ("--lr", "inf", "lr must be finite"),
        ("--lr=-inf", None, "lr must be finite"), ("--lr", "1", "lr x weight_decay"),
        ("--lr", "fast", "invalid float")]],
    ("train-number", ["train", "--epochs"], USAGE, "expected one argument"),
    # --- class: train device
    *[("train-device", ["train", "--device", v], USAGE, m) for v, m in [
        ("tpu", "device"), ("cuda:banana", "device"), ("", "device"), ("meta", "unsupported device"),
        ("cuda", "no CUDA device")]],
    # --- class: train output folder
    ("train-out", ["train", "--out", "a\0b", *TINY], USAGE, "not a usable path"),
    ("train-out", ["train", "--out", "", *TINY], USAGE, "not a usable path"),
    ("train-out", ["train", "--out", "x" * 5000, *TINY], USAGE, "not a usable path"),
    ("train-out", ["train", "--out", f"{C}/afile", *TINY], USAGE, "not a directory", file_at("afile")),
    ("train-out", ["train", "--out", f"{C}/theirs", *TINY], USAGE, "not a run of this project", foreign_dir),
    ("train-out", ["train", "--out", f"{C}/theirs", *TINY, "--force"], USAGE, "would have deleted", foreign_dir),
    ("train-out", ["train", "--out", f"{C}/theirs", "--resume"], USAGE, "not a run of this project", foreign_dir),
    ("train-out", ["train", "--out", R, *TINY, "--force"], USAGE, "would have deleted config.json", lone_config),
    ("train-out", ["train", "--out", R, *TINY, "--force"], USAGE, "would have deleted notes.txt",
     run_with_extra_file),
    ("train-out", ["train", "--out", R, *TINY], USAGE, "already holds a finished run", finished),
    ("train-out", ["train", "--out", R, *TINY], USAGE, "already holds an interrupted run", interrupted),
    ("train-out", ["train", "--out", R, *TINY, "--resume", "--force"], USAGE, "exclude each other", finished),
    ("train-out", ["train", "--out", f"{C}/none", "--resume"], USAGE, "no run to resume"),
    ("train-out", ["train", "--out", R, "--resume"], USAGE, "already finished", finished),
    ("train-out", ["train", "--out", R, "--resume", "--p", "11"], USAGE, "other settings (p)", interrupted),
    ("train-out", ["train", "--out", R, "--resume", "--epochs", "30"], USAGE, "other settings (epochs)", interrupted),
    ("train-out", ["train", "--out", f"{C}/deep/er/run", "--p", "4"], USAGE, "prime between"),
    ("train-out", ["train", "--out", R, "--resume"], USAGE, "failed (non-finite train_loss", failed),
    ("train-out", ["train", "--out", R, *TINY], USAGE, "already holds a failed run; use --force", failed),
    ("progress", ["progress", R], RUN, "no finished run at", failed),
    ("info", ["info", R], RUN, "no finished run at", failed),
    ("train-out", ["train", "--out", "/proc/grokking-test/run", *TINY], RUN, "/proc/grokking-test"),
    # --- class: one writer per run
    ("lock", ["train", "--out", R, "--resume"], RUN, "is being written by process", "locked-interrupted"),
    ("lock", ["train", "--out", R, *TINY, "--force"], RUN, "is being written by process", "locked-finished"),
    ("lock", ["progress", R], RUN, "is being written by process", "locked-finished"),
    # --- class: info on missing or damaged runs
    ("info", ["info", f"{C}/missing"], RUN, "no finished run at"),
    ("info", ["info", f"{C}/afile"], RUN, "no finished run at", file_at("afile")),
    ("info", ["info", C], RUN, "no finished run at"),
    ("info", ["info", f"{C}/theirs"], RUN, "no finished run at", foreign_dir),
    ("info", ["info", "a\0b"], USAGE, "not a usable path"),
    ("info", ["info", R], RUN, "manifest.json", damaged(lambda r: (r / store.MANIFEST).write_text("{"))),
    ("info", ["info", R], RUN, "manifest.json", damaged(lambda r: (r / store.MANIFEST).write_text("[]"))),
    ("info", ["info", R], RUN, "manifest.json", damaged(lambda r: (r / store.MANIFEST).write_text('{"files": 3}'))),
    ("info", ["info", R], RUN, "history.json", damaged(lambda r: (r / store.HISTORY).write_text("{}"))),
    ("info", ["info", R], RUN, "model.safetensors", damaged(lambda r: (r / store.MODEL).write_bytes(b"\0" * 7))),
    ("info", ["info", R], RUN, "config.json", damaged(lambda r: (r / store.CONFIG).unlink())),
    ("info", ["info", R], RUN, "config.json", damaged(lambda r: edit_json(r, store.CONFIG, drop_key("p")))),
    ("info", ["info", R], RUN, "config.json", damaged(lambda r: edit_json(r, store.CONFIG, set_key("p", "7")))),
    ("info", ["info", R], RUN, "config.json", damaged(lambda r: edit_json(r, store.CONFIG, set_key("p", True)))),
    ("info", ["info", R], RUN, "config.json", damaged(lambda r: edit_json(r, store.CONFIG, set_key("lr", [1])))),
    ("info", ["info", R], RUN, "config.json", damaged(lambda r: edit_json(r, store.CONFIG, set_key("zz", 1)))),
    ("info", ["info", R], RUN, "config.json", damaged(lambda r: edit_json(r, store.CONFIG, lambda o: "[1]"))),
    ("info", ["info", R], RUN, "history.json", damaged(lambda r: edit_json(r, store.HISTORY, drop_key("epoch")))),
    ("info", ["info", R], RUN, "history.json", damaged(lambda r: edit_json(r, store.HISTORY, set_key("zz", [1])))),
    ("info", ["info", R], RUN, "history.json",
     damaged(lambda r: edit_json(r, store.HISTORY, set_key("train_loss", [])))),
    ("info", ["info", R], RUN, "history.json",
     damaged(lambda r: edit_json(r, store.HISTORY, set_key("test_acc", ["a", "b", "c"])))),
    ("info", ["info", R], RUN, "history.json",
     damaged(lambda r: edit_json(r, store.HISTORY, set_key("test_loss", [float("nan")] * 3)))),
    ("info", ["info", R], RUN, "history.json",
     damaged(lambda r: edit_json(r, store.HISTORY, set_key("epoch", [0, 0, 0])))),
    ("info", ["info", R], RUN, "history.json",
     damaged(lambda r: edit_json(r, store.HISTORY, set_key("train_acc", [1.5, 1.5, 1.5])))),
    ("info", ["info", R], RUN, "history.json",
     damaged(lambda r: edit_json(r, store.HISTORY, lambda h: {k: v[:2] if k == "epoch" else v for k, v in h.items()}))),
    ("info", ["info", R], RUN, "W_E", damaged(lambda r: edit_weights(r, lambda t: t.pop("embed.W_E")))),
    ("info", ["info", R], RUN, "model.safetensors",
     damaged(lambda r: edit_weights(r, lambda t: t.update(extra=torch.zeros(2))))),
    ("info", ["info", R], RUN, "W_E", damaged(lambda r: edit_weights(
        r, lambda t: t.update({"embed.W_E": t["embed.W_E"].to(torch.int64)})))),
    ("info", ["info", R], RUN, "W_E", damaged(lambda r: edit_weights(
        r, lambda t: t.update({"embed.W_E": t["embed.W_E"][:3]})))),
    ("info", ["info", R], RUN, "manifest.json", manifest_entry("/etc/hostname")),
    ("info", ["info", R], RUN, "manifest.json", manifest_entry("../outside.txt")),
    ("info", ["info", R], RUN, "manifest.json", manifest_entry("")),
    ("info", ["info", R], RUN, "zero", manifest_entry("zero", lambda r: os.symlink("/dev/zero", r / "zero"))),
    ("info", ["info", R], RUN, "fifo", manifest_entry("fifo", lambda r: os.mkfifo(r / "fifo"))),
    ("info", ["info", R], RUN, "link", manifest_entry("link", lambda r: os.symlink("/etc/hostname", r / "link"))),
    # --- class: progress
    ("progress", ["progress", f"{C}/missing"], RUN, "no finished run at"),
    ("progress", ["progress", R], RUN, "no checkpoints", no_checkpoints),
    ("progress", ["progress", R], RUN, "no finished run at", interrupted),
    ("progress", ["progress", R], RUN, "history.json", damaged(lambda r: (r / store.HISTORY).write_text("{}"))),
    # --- class: figures
    ("figures", ["figures"], USAGE, "--out"),
    ("figures", ["figures", "--out", f"{C}/afile"], USAGE, "not a directory", file_at("afile")),
    ("figures", ["figures", "--run", f"{C}/missing", "--out", f"{C}/figs"], RUN, "no finished run at"),
    ("figures", ["figures", "--run", R, "--out", f"{C}/figs"], RUN, "history.json",
     damaged(lambda r: (r / store.HISTORY).write_text("{}"))),
    ("figures", ["figures", "--run", R, "--out", f"{C}/figs", "--seeds", f"{C}/afile"], USAGE,
     "not a directory", file_at("afile")),
    ("figures", ["figures", "--run", R, "--out", f"{C}/figs", "--phase", f"{C}/afile"], USAGE,
     "not a directory", file_at("afile")),
    ("figures", ["figures", "--out", "a\0b"], USAGE, "not a usable path"),
    # --- class: sweeps
    ("sweep", ["sweep", "grid"], USAGE, "invalid choice"),
    *[("sweep", ["sweep", "phase", "--out", f"{C}/s", *args], USAGE, m) for args, m in [
        (["--jobs", "0"], "--jobs"), (["--jobs", "-1"], "--jobs"), (["--jobs", str(10**6)], "--jobs"),
        (["--jobs", "two"], "invalid int"), (["--threads", "0"], "--threads"), (["--threads", "-3"], "--threads"),
        (["--fracs", "0"], "frac_train"), (["--fracs", "1.2"], "frac_train"), (["--fracs", "nan"], "--fracs"),
        (["--fracs", "x"], "--fracs"), (["--fracs", ""], "--fracs"), (["--fracs", "0.3,0.3"], "0.3"),
        (["--weight-decays", "-1"], "weight_decay"), (["--weight-decays", "inf"], "--weight-decays"),
        (["--weight-decays", "1,,x"], "--weight-decays"),
        (["--p", "4"], "prime between"), (["--p", BIG_PRIME], "prime between"), (["--p", "x"], "invalid int"),
        (["--epochs", "-5"], "epochs must lie in"), (["--epochs", str(10**9)], "epochs must lie in"),
        (["--seeds", "1"], "--seeds belongs to the seeds grid"), (["--device", "tpu"], "device")]],
    *[("sweep", ["sweep", "seeds", "--out", f"{C}/s", *args], USAGE, m) for args, m in [
        (["--seeds", "a"], "--seeds"), (["--seeds", "1.5"], "--seeds"), (["--seeds", "-1"], "--seeds"),
        (["--seeds", ""], "--seeds"), (["--seeds", str(2**64)], "seed"), (["--p", "7"], "phase grid"),
        (["--fracs", "0.3"], "phase grid"), (["--epochs", "-1"], "epochs must lie in")]],
    ("sweep", ["sweep", "phase", "--out", f"{C}/afile"], USAGE, "not a directory", file_at("afile")),
    ("sweep", ["sweep", "seeds", "--out", f"{C}/afile", "--list"], USAGE, "not a directory", file_at("afile")),
]


def case_id(case) -> str:
    return f"{case[0]}:{' '.join(case[1])[:60]}"


def tree(root: Path) -> dict:
    """Every entry under ``root``: its kind, mode and (for files) the sha256 of its bytes."""
    entries = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        rel = str(path.relative_to(root))
        if path.is_symlink():
            entries[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            entries[rel] = ("dir", st.st_mode)
        elif path.is_file():
            entries[rel] = ("file", st.st_mode, hashlib.sha256(path.read_bytes()).hexdigest())
        else:
            entries[rel] = ("other", st.st_mode)
    return entries


def _alarm(_signum, _frame):
    raise AssertionError("the command hung for 20 s")


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_bad_input(case, tmp_path, templates, capsys, monkeypatch):
    _cls, argv, want_code, want_text, *setup = case
    monkeypatch.chdir(tmp_path)  # a relative default (runs/local, runs/seeds) lands inside the case
    run = tmp_path / "run"
    lock = None
    if setup and isinstance(setup[0], str) and setup[0].startswith("locked-"):
        (finished if setup[0] == "locked-finished" else interrupted)(tmp_path, templates)
        lock = RunLock(run).__enter__()
    elif setup:
        setup[0](tmp_path, templates)
    argv = [a.replace(R, str(run)).replace(C, str(tmp_path)) for a in argv]
    before = tree(tmp_path)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        code = main(argv)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        if lock is not None:
            lock.__exit__(None, None, None)
            before.pop("run/.lock", None)
    _out, err = capsys.readouterr()
    assert code == want_code, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("grokking: error: "), err
    assert want_text in err, err
    assert "Traceback" not in err
    assert tree(tmp_path) == before


def test_the_table_covers_every_class_with_over_a_hundred_cases():
    counts = {}
    for case in CASES:
        counts[case[0]] = counts.get(case[0], 0) + 1
    assert len(CASES) >= 100
    assert set(counts) >= {"top", "train-number", "train-device", "train-out", "lock", "info", "progress",
                           "figures", "sweep"}
