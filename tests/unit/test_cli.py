"""Command line: one-line errors with exit status 2, nothing overwritten, info summary."""

import pytest

from grokking.cli import main
from grokking.runs import store


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--p", "4"], "p must be a prime >= 3"),
    (["train", "--p", "2"], "p must be a prime >= 3"),
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
    assert code == 1
    assert err.count("\n") == 1
    assert "history.json: " in err


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
