"""The command line end to end: a real process stopped by SIGINT and resumed, a tiny sweep, the committed run."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from grokking.cli import main
from grokking.runs import store

ROOT = Path(__file__).resolve().parents[2]  # tests/integration/ -> the repository
CANONICAL_RUN = ROOT / "runs" / "canonical"
ENV = dict(os.environ, PYTHONPATH=str(ROOT))  # the package of this checkout, wherever pytest runs
SIGINT_EPOCHS = 600  # the default model at p = 23: under 10 s a run here, long enough to stop it part-way


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _file_hashes(run_dir: Path) -> dict[str, str]:
    """sha256 of every file under ``run_dir``, by path relative to it."""
    return {str(f.relative_to(run_dir)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(run_dir.rglob("*")) if f.is_file()}


def test_cli_sigint_then_resume_ends_bit_identical_to_an_uninterrupted_run(tmp_path):
    train = [sys.executable, "-m", "grokking", "train", "--p", "23", "--epochs", str(SIGINT_EPOCHS)]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    straight = subprocess.run([*train, "--out", str(whole)], env=ENV, capture_output=True, text=True, timeout=300)
    assert straight.returncode == 0, straight.stderr

    proc = subprocess.Popen([*train, "--out", str(cut)], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 120
    while not (cut / "checkpoints" / "epoch_000100.safetensors").exists():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err  # stopped part-way (not finished before the signal came)
    assert "Traceback" not in err
    assert "--resume" in err
    assert (cut / "checkpoints" / "resume.safetensors").exists()
    assert not (cut / "model.safetensors").exists()
    before = {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in (cut / "checkpoints").glob("epoch_*")}
    assert max(int(name[len("epoch_"):-len(".safetensors")]) for name in before) < SIGINT_EPOCHS

    done = subprocess.run([*train, "--out", str(cut), "--resume"], env=ENV, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads((cut / "history.json").read_text())["epoch"][-1] == SIGINT_EPOCHS
    # it went on from where it stopped: the checkpoints written before the signal are the same files
    # (training again from epoch 0 would have replaced them, and ended with the same bytes)
    after = {name: ((cut / "checkpoints" / name).stat().st_ino, (cut / "checkpoints" / name).stat().st_mtime_ns)
             for name in before}
    assert after == before
    # every file the finished run holds (weights, history, progress, config, checkpoints, manifest)
    # is the same, bit for bit
    hashes, reference = _file_hashes(cut), _file_hashes(whole)
    assert {"model.safetensors", "history.json", "progress.safetensors", "manifest.json"} <= set(reference)
    assert hashes == reference


def test_final_weights_file_bytes_do_not_depend_on_chance(tmp_path, tiny_config):
    """write_final of the same run, 20 times: the same model.safetensors and manifest.json bytes."""
    from grokking.model import build_model
    from grokking.training.loop import empty_history, model_state

    state = model_state(build_model(tiny_config))
    history = {key: [0, 1] if key == "epoch" else [0.5, 0.25] for key in empty_history()}
    blobs = set()
    for i in range(20):
        store.write_final(tmp_path / str(i), tiny_config, state, history)
        blobs.add(((tmp_path / str(i) / "model.safetensors").read_bytes(),
                   (tmp_path / str(i) / "manifest.json").read_bytes()))
    assert len(blobs) == 1


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "grokking", *args], env=ENV, capture_output=True, text=True,
                          timeout=300)


def test_cli_sweep_tiny_grid_resumes_and_rejects_bad_input(tmp_path):
    out = tmp_path / "grid"
    args = ("sweep", "phase", "--p", "13", "--fracs", "0.3,0.6", "--weight-decays", "0,1",
            "--epochs", "40", "--out", str(out))
    first = _cli(*args)
    assert first.returncode == 0, first.stderr
    assert "4 trained, 0 already done" in first.stdout
    rows = [json.loads(f.read_text()) for f in sorted((out / "results").glob("*.json"))]
    assert len(rows) == 4
    assert {r["config"]["p"] for r in rows} == {13}
    second = _cli(*args)
    assert second.returncode == 0
    assert "0 trained, 4 already done" in second.stdout
    listing = _cli(*args, "--list")
    assert listing.stdout.count("done") == 4
    for bad in (["--fracs", "a,b"], ["--jobs", "0"], ["--weight-decays", "-1"], ["--seeds", "1"]):
        result = _cli("sweep", "phase", "--out", str(tmp_path / "bad"), *bad)
        assert result.returncode == 2, bad
        assert len(result.stderr.strip().splitlines()) == 1
        assert "error" in result.stderr
    assert not (tmp_path / "bad" / "results").exists()


def test_info_on_committed_run(capsys):
    code, out, _ = run_cli(capsys, "info", str(CANONICAL_RUN))
    assert code == 0
    assert "epochs:     40000" in out
    assert "test acc >= 99% first at epoch:" in out


def test_figures_writes_every_figure_of_the_run_and_the_phase_grid(capsys, tmp_path):
    from grokking.figures import RUN_FIGURES

    out = tmp_path / "figs"
    code, stdout, err = run_cli(capsys, "figures", "--run", str(CANONICAL_RUN), "--seeds", str(tmp_path / "none"),
                                "--phase", str(ROOT / "runs" / "phase"), "--out", str(out))
    assert code == 0, err
    names = [*RUN_FIGURES, "phase_diagram", "phase_epochs_to_accuracy"]  # no seeds folder: no seed figures
    assert f"wrote {len(names)} figures to {out}" in stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.png" for name in names)  # no temporaries
    for name in names:
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
