"""Command line: one-line errors with exit status 2, nothing overwritten, info summary."""

import hashlib
import json
import os

import pytest

from grokking.cli import main
from grokking.runs import store


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--p", "4"], "p must be a prime between 3 and 499"),
    (["train", "--p", "2"], "p must be a prime between 3 and 499"),
    (["train", "--frac-train", "1.2"], "frac_train must lie in (0, 1)"),
    (["train", "--frac-train", "0"], "frac_train must lie in (0, 1)"),
    (["train", "--epochs", "ten"], "invalid int value"),
    (["train", "--bogus"], "unrecognized arguments"),
    (["frobnicate"], "invalid choice"),
    (["train", "--device", "cuda:banana"], "device"),
])
def test_bad_arguments_one_line_exit_2(capsys, tmp_path, argv, message):
    code, _out, err = run_cli(capsys, *argv, *(["--out", str(tmp_path / "r")] if argv[0] == "train" else []))
    assert code == 2
    assert err.count("\n") == 1
    assert message in err
    assert err.startswith("grokking: error: ")
    assert not (tmp_path / "r").exists()


def test_existing_run_not_overwritten(capsys, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "config.json").write_text("precious")
    code, _, err = run_cli(capsys, "train", "--out", str(out), "--epochs", "5")
    assert code == 2
    assert "--resume" in err
    assert "--force" in err
    assert err.count("\n") == 1
    assert (out / "config.json").read_text() == "precious"


def test_non_run_directory_refused_even_with_force(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = run_cli(capsys, "train", "--out", str(tmp_path), "--epochs", "5", "--force")
    assert code == 2
    assert "not a run" in err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_resume_requires_a_run_and_matching_settings(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "--out", str(tmp_path / "none"), "--resume")
    assert code == 2
    assert "no run to resume" in err
    out = tmp_path / "r"
    assert run_cli(capsys, "train", "--out", str(out), "--p", "7", "--epochs", "20")[0] == 0
    code, _, err = run_cli(capsys, "train", "--out", str(out), "--p", "11", "--resume")
    assert code == 2
    assert "other settings (p)" in err


def test_force_replaces_a_run(capsys, tmp_path):
    out = tmp_path / "r"
    assert run_cli(capsys, "train", "--out", str(out), "--p", "7", "--epochs", "20")[0] == 0
    assert run_cli(capsys, "train", "--out", str(out), "--p", "11", "--epochs", "20", "--force")[0] == 0
    assert store.load_config(out).p == 11


def test_info_on_damaged_run(capsys, tmp_path):
    code, _, err = run_cli(capsys, "info", str(tmp_path / "missing"))
    assert code == 1
    assert err.count("\n") == 1
    assert f"no finished run at {tmp_path / 'missing'}" in err
    run = tmp_path / "r"
    assert run_cli(capsys, "train", "--out", str(run), "--p", "7", "--epochs", "20")[0] == 0
    (run / "history.json").write_text("{}")
    code, _, err = run_cli(capsys, "info", str(run))
    assert (code, err) == (1, f"grokking: error: {run / 'history.json'}: altered (sha256 does not match "
                              "manifest.json)\n") or ("history.json" in err and code == 1), err
    # the same damage with the manifest updated to match: the history's own check is reached
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["files"]["history.json"] = {"sha256": hashlib.sha256(b"{}").hexdigest(), "bytes": 2}
    (run / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = run_cli(capsys, "info", str(run))
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith(f"grokking: error: {run / 'history.json'}: ")
    assert "sha256" not in err


def test_figures_needs_out_and_a_run(capsys, tmp_path):
    code, _, err = run_cli(capsys, "figures")
    assert code == 2
    assert err.count("\n") == 1
    assert "--out" in err
    code, _, err = run_cli(capsys, "figures", "--run", str(tmp_path / "missing"), "--out", str(tmp_path / "figs"))
    assert code == 1
    assert err.count("\n") == 1
    assert "no finished run at" in err
    assert not (tmp_path / "figs").exists()


def test_non_finite_loss_stops_the_run_marked_failed(capsys, tmp_path):
    out = tmp_path / "r"
    code, _, err = run_cli(capsys, "train", "--out", str(out), "--p", "7", "--epochs", "50",
                           "--weight-decay", "0", "--lr", "1e30")
    assert code == 1
    assert err.splitlines()[-1].startswith(f"grokking: error: {out}: training failed: non-finite")
    assert not (out / store.MANIFEST).exists()  # never finished
    assert json.loads((out / store.FAILED).read_text())["epoch"] == 10  # the first recorded epoch after 0
    code, _, err = run_cli(capsys, "train", "--out", str(out), "--resume")
    assert code == 2
    assert "resuming would fail again" in err
    assert run_cli(capsys, "train", "--out", str(out), "--p", "7", "--epochs", "20", "--force")[0] == 0
    assert (out / store.MANIFEST).exists() and not (out / store.FAILED).exists()


def test_force_refuses_a_lone_config_and_a_run_beside_other_files(capsys, tmp_path):
    out = tmp_path / "r"
    assert run_cli(capsys, "train", "--out", str(out), "--p", "7", "--epochs", "20")[0] == 0
    (out / "notes.txt").write_text("mine")
    code, _, err = run_cli(capsys, "train", "--out", str(out), "--p", "7", "--epochs", "20", "--force")
    assert code == 2
    assert "would have deleted notes.txt" in err
    assert (out / "notes.txt").read_text() == "mine" and (out / store.MANIFEST).exists()


def test_unexpected_error_is_one_line_unless_debugging(capsys, tmp_path, monkeypatch):
    from grokking import cli

    def broken(_args):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(cli, "cmd_info", broken)
    code, _, err = run_cli(capsys, "info", str(tmp_path))
    assert code == 1
    assert err == ("grokking: internal error: ZeroDivisionError: planted "
                   "(run again with --debug or GROKKING_DEBUG=1 to see the traceback)\n")
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "info", str(tmp_path)])
    monkeypatch.setenv("GROKKING_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["info", str(tmp_path)])


def test_a_second_writer_is_refused_while_a_run_trains(capsys, tmp_path):
    from grokking.runs.lock import RunLock

    out = tmp_path / "r"
    assert run_cli(capsys, "train", "--out", str(out), "--p", "7", "--epochs", "20")[0] == 0
    with RunLock(out):
        code, _, err = run_cli(capsys, "train", "--out", str(out), "--p", "7", "--epochs", "20", "--force")
        assert code == 1
        assert f"{out} is being written by process {os.getpid()}" in err
    assert not (out / ".lock").exists()
    assert run_cli(capsys, "train", "--out", str(out), "--p", "7", "--epochs", "20", "--force")[0] == 0
