"""The command line end to end: a real process stopped by SIGINT and resumed, a tiny sweep, the committed run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from grokking.cli import main

ROOT = Path(__file__).resolve().parents[2]  # tests/integration/ -> the repository
CANONICAL_RUN = ROOT / "runs" / "canonical"
ENV = dict(os.environ, PYTHONPATH=str(ROOT))  # the package of this checkout, wherever pytest runs


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_sigint_saves_and_resume_finishes(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "grokking", "train", "--p", "23", "--epochs", "3000", "--out", str(out)]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "checkpoints" / "epoch_000100.safetensors").exists():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert "--resume" in err
    assert (out / "checkpoints" / "resume.safetensors").exists()
    assert not (out / "model.safetensors").exists()
    done = subprocess.run([*cmd, "--resume"], env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"][-1] == 3000


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
