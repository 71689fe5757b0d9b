"""A sweep's workers never outlive it: killed (SIGKILL included), failing or stopped, no worker trains on."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grokking import sweep
from grokking.config import Config
from grokking.runs import store
from grokking.runs.lock import LOCK
from grokking.training.signals import ParentWatch

ROOT = Path(__file__).resolve().parents[2]  # tests/unit/ -> the repository
ENV = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")  # the package of this checkout
TIMEOUT_S = 120  # generous: both workers import torch and TransformerLens at once on a loaded machine
# Two runs that take minutes (they do not stop early within 100000 epochs at p = 5).
GRID = dict(p=5, fracs=(0.4, 0.6), weight_decays=(1,), epochs=100_000)
COMMAND = [sys.executable, "-m", "grokking", "sweep", "phase", "--p", "5", "--fracs", "0.4,0.6",
           "--weight-decays", "1", "--epochs", "100000", "--jobs", "2", "--threads", "1"]

# A small run of 300 epochs (as STUCK in test_sweep.py)
SMALL = Config(p=23, frac_train=0.3, weight_decay=0.0, lr=3e-3, d_model=32, d_mlp=128, n_heads=2, d_head=16,
               model_seed=1, split_seed=1, epochs=300)

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, ...); None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def children(pid: int) -> dict[int, str]:
    """The live child processes of ``pid``, each with its start time (to tell a reused pid apart)."""
    found = {}
    for entry in Path("/proc").iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = fields[19]
    return found


def alive(pid: int, started: str) -> bool:
    """Whether the process ``pid`` that started at ``started`` still runs (a zombie has ended)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z" and fields[19] == started


def wait_for(condition, what: str, proc: subprocess.Popen | None = None) -> None:
    """Poll ``condition`` until it holds; fail after TIMEOUT_S, or at once when ``proc`` has exited."""
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the sweep exited (status {proc.returncode}) before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def resume_epoch(path: Path) -> int:
    return int(store.load_tensors_with_metadata(path)[1]["epoch"])


def _end(processes: dict[int, str]) -> None:
    """Clean up after a failed test: SIGKILL those of ``processes`` (started by it) still running."""
    for pid, started in processes.items():
        if alive(pid, started):
            os.kill(pid, signal.SIGKILL)


def test_killed_sweep_takes_its_workers_with_it_and_runs_again(tmp_path):
    out = tmp_path / "grid"
    names = [r.name for r in sweep.phase_runs(**GRID)]
    resumes = [sweep.work_dir(out) / name / store.CHECKPOINTS / store.RESUME for name in names]
    proc = subprocess.Popen([*COMMAND, "--out", str(out)], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    workers = {}
    try:
        wait_for(lambda: all(path.exists() for path in resumes), "both workers training", proc)
        workers = children(proc.pid)
        spawned = [pid for pid in workers if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(spawned) == 2, workers
        # a second sweep on the same folder trains neither run: the workers hold their locks
        second = sweep.run_sweep(sweep.phase_runs(**GRID), out)
        assert sorted(second["locked"]) == sorted(names)
        assert not second["finished"]
        proc.kill()
        proc.wait(timeout=TIMEOUT_S)
        wait_for(lambda: not any(alive(pid, started) for pid, started in workers.items()), "the workers to exit")
    finally:
        proc.kill()
        _end(workers)
    proc.communicate(timeout=TIMEOUT_S)
    assert not sweep.results_dir(out).exists()  # no result written, and no process left to write one
    assert not any((path.parents[1] / LOCK).exists() for path in resumes)  # each worker left its run as a stop does
    epochs = [resume_epoch(path) for path in resumes]
    assert min(epochs) > 0

    # the same command again continues both runs; SIGINT stops it, its workers with it
    stamps = [path.stat().st_mtime_ns for path in resumes]
    proc = subprocess.Popen([*COMMAND, "--out", str(out)], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    workers = {}
    try:
        wait_for(lambda: all(p.stat().st_mtime_ns != s for p, s in zip(resumes, stamps, strict=True)),
                 "both runs training again", proc)
        workers = children(proc.pid)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    finally:
        proc.kill()
        _end(workers)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "0 trained, 0 already done, 2 interrupted" in stdout
    wait_for(lambda: not any(alive(pid, started) for pid, started in workers.items()), "the workers to exit")
    # resumed where the killed sweep left them, not restarted
    assert all(resume_epoch(path) > epoch for path, epoch in zip(resumes, epochs, strict=True))


def test_a_failing_sweep_stops_its_workers_before_it_raises(tmp_path):
    runs = [sweep.SweepRun("short", SMALL, "row", True),
            sweep.SweepRun("long", SMALL.replace(epochs=100_000, weight_decay=1.0), "row", True)]

    def fail(name, finished):
        raise RuntimeError(f"reporting {name} failed")

    with pytest.raises(RuntimeError, match="reporting short failed"):
        sweep.run_sweep(runs, tmp_path, jobs=2, threads=1, on_done=fail)
    assert multiprocessing.active_children() == []
    long = sweep.work_dir(tmp_path) / "long"
    assert (long / store.CHECKPOINTS / store.RESUME).exists()  # interrupted, its state saved
    assert not (long / LOCK).exists()
    assert sorted(p.name for p in sweep.results_dir(tmp_path).iterdir()) == ["short.json"]


def test_parent_watch_notices_a_parent_that_is_gone():
    here = ParentWatch(os.getppid(), interval=0.01).start()
    noticed = []
    gone = ParentWatch(-1, interval=0.01).start(on_gone=lambda: noticed.append(True))
    wait_for(lambda: noticed == [True], "the watch to notice")
    assert gone.gone()
    assert not here.gone()
