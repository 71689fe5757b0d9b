"""SIGINT and SIGTERM at any moment of a command: one line, the shell's status, resumable state.

Real processes for the moments only a process has (importing torch, the training
loop); in process, with the signal planted, for the moments too short to hit from
outside (the progress measures after training, one figure among many).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grokking import cli
from grokking.runs import store

ROOT = Path(__file__).resolve().parents[2]  # tests/integration/ -> the repository
ENV = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
TRAIN = ["train", "--p", "23", "--epochs", "3000"]
STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}


def start(*args):
    return subprocess.Popen([sys.executable, "-m", "grokking", *args], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, proc, seconds=120):
    deadline = time.time() + seconds
    while not condition():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_torch_imports_is_one_line(tmp_path, signum):
    proc = start(*TRAIN, "--out", str(tmp_path / "run"))
    time.sleep(0.3)  # the interpreter is up; torch is still importing
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == STATUS[signum], err
    assert err == ("grokking: interrupted\n" if signum == signal.SIGINT else "grokking: terminated\n")
    assert not (tmp_path / "run").exists()  # nothing was created yet


def test_sigterm_while_training_saves_and_resume_finishes(tmp_path):
    out = tmp_path / "run"
    proc = start(*TRAIN, "--out", str(out))
    wait_for((out / store.CHECKPOINTS / "epoch_000100.safetensors").exists, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert err.splitlines()[-1].endswith(f"continue with: python -m grokking train --out {out} --resume")
    assert (out / store.CHECKPOINTS / store.RESUME).exists() and not (out / ".lock").exists()
    done = subprocess.run([sys.executable, "-m", "grokking", "train", "--out", str(out), "--resume"],
                          env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert (out / store.MANIFEST).exists()


@pytest.fixture
def finished_run(tmp_path):
    out = tmp_path / "run"
    assert cli.main(["train", "--out", str(out), "--p", "7", "--epochs", "200"]) == 0
    return out


@pytest.mark.parametrize(("planted", "status", "line"), [
    (KeyboardInterrupt, 130, "progress measures interrupted"),
    (cli.Terminated(signal.SIGTERM), 143, "progress measures interrupted"),
])
def test_a_signal_during_the_progress_measures(finished_run, capsys, monkeypatch, planted, status, line):
    before = (finished_run / store.PROGRESS).read_bytes()
    manifest = (finished_run / store.MANIFEST).read_bytes()

    def interrupted(*_args, **_kwargs):
        raise planted

    monkeypatch.setattr(cli, "write_progress", interrupted)
    capsys.readouterr()
    assert cli.main(["progress", str(finished_run)]) == status
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and line in err
    assert f"python -m grokking progress {finished_run}" in err
    # untouched, and the run still loads; `progress RUN` then finishes the measures
    assert (finished_run / store.PROGRESS).read_bytes() == before
    assert (finished_run / store.MANIFEST).read_bytes() == manifest
    assert not (finished_run / ".lock").exists()
    monkeypatch.undo()
    assert cli.main(["progress", str(finished_run)]) == 0
    assert (finished_run / store.PROGRESS).read_bytes() == before  # the same measures, recomputed


def test_a_signal_among_the_figures_leaves_no_partial_file(capsys, monkeypatch, tmp_path):
    from grokking import figures

    calls = []
    real = figures.save_png

    def save_then_stop(fig, path):
        if len(calls) == 2:
            raise cli.Terminated(signal.SIGTERM)
        calls.append(path)
        return real(fig, path)

    monkeypatch.setattr(figures, "save_png", save_then_stop)
    out = tmp_path / "figs"
    assert cli.main(["figures", "--run", str(ROOT / "runs" / "canonical"), "--out", str(out),
                     "--seeds", str(tmp_path / "none"), "--phase", str(tmp_path / "none")]) == 143
    assert capsys.readouterr().err == "grokking: terminated\n"
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in calls)  # whole PNGs only
