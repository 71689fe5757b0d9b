"""A non-editable install: the package works from site-packages, with the committed run passed as a path.

The package must not find its data through the repository's layout, so a copy of it
installed elsewhere loads the committed run only from a path it is given, and says in
one line where it looked when that path holds no run.
"""

from __future__ import annotations

import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from pathlib import Path
import grokking
from grokking.pipeline import load_or_train
from grokking.runs.store import RunError
print("package", grokking.__file__)
try:
    load_or_train(committed=Path(sys.argv[2]))
except RunError as exc:
    print("error", exc)
run = load_or_train(committed=Path(sys.argv[1]))
print("epochs", int(run.history["epoch"][-1]))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding a non-editable build of the package; its other dependencies
    come from this test's environment (a .pth line, so no download and no editable finder)."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(ROOT)],
                   check=True, capture_output=True)
    return python


def test_installed_copy_loads_the_committed_run_from_a_path(installed, tmp_path):
    out = subprocess.run([installed, "-c", SCRIPT, str(ROOT / "runs" / "canonical"), str(tmp_path / "none")],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert "site-packages" in lines["package"]
    assert str(ROOT) not in lines["package"]
    none = tmp_path / "none"
    assert lines["error"] == (f"no finished run at {none} (looked for {none / 'manifest.json'}); "
                              f"train one with: python -m grokking train --out {none}")
    assert lines["epochs"] == "40000"


def test_installed_cli_fails_in_one_line_without_a_run(installed, tmp_path):
    out = subprocess.run([installed, "-m", "grokking", "figures", "--out", str(tmp_path / "figs")],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("grokking: error: no finished run at runs/canonical")
    assert not (tmp_path / "figs").exists() or not any((tmp_path / "figs").iterdir())
