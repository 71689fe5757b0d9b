"""``python -m grokking experiment NAME``: every experiment on a tiny grid (p = 23, a few
hundred epochs), its results, its resume, and its one-line errors."""

import json

import pytest

from grokking import cli, experiments, sweep
from grokking.config import Config
from grokking.runs import store
from grokking.runs.load import load_run

P, EPOCHS = 23, 200


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    """A finished p = 23 run of the default config, for ungrokking to continue."""
    out = tmp_path_factory.mktemp("base") / "base"
    assert cli.main(["train", "--p", str(P), "--epochs", "300", "--out", str(out)]) == 0
    return out


def run(name, out, *extra):
    return cli.main(["experiment", name, "--p", str(P), "--epochs", str(EPOCHS), "--out", str(out), *extra])


def check_results(out, name, start=None):
    results = experiments.load_results(out)
    wanted = experiments.experiment(name, p=P, epochs=EPOCHS, start=start).runs
    assert set(results) == {r.name for r in wanted}
    for r in wanted:
        row = results[r.name]
        assert Config.from_dict(row["config"]) == r.config
        prog = row["progress"]
        assert prog["epoch"] == list(range(0, row["epochs_trained"] + 1, r.config.checkpoint_every))
        for key in ("restricted_loss", "excluded_loss", "gini_W_E", "gini_W_L", "sum_sq_weights",
                    "collapsed_fraction"):
            assert len(prog[key]) == len(prog["epoch"]), key
        assert all(0.0 <= f <= 1.0 for f in prog["collapsed_fraction"])
        assert prog["key_frequencies"] == row["key_frequencies"]
        assert row["train_seconds"] > 0
        assert row["start"] == (None if r.start is None else str(r.start))
    return results


@pytest.mark.parametrize("name", ["collapse", "grokfast", "pizza", "paper-setup"])
def test_each_experiment_regenerates_its_results(tmp_path, name, capsys):
    out = tmp_path / name
    assert run(name, out, "--jobs", "2") == 0
    results = check_results(out, name)
    for r in experiments.experiment(name, p=P, epochs=EPOCHS).runs:
        if r.keep == "run":  # kept whole, with its progress measures
            loaded = load_run(out / r.name)
            assert loaded.config == r.config
            assert (out / r.name / store.PROGRESS).exists()
            assert results[r.name]["final_test_acc"] == loaded.history["test_acc"][-1]
    first = {p.name: p.read_bytes() for p in (out / "results").iterdir()}
    capsys.readouterr()
    assert run(name, out) == 0  # finished runs are never trained again
    assert "0 trained" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in (out / "results").iterdir()} == first


def test_collapse_variants_differ_only_as_stated():
    runs = {r.name: r.config for r in experiments.experiment("collapse").runs}
    base = Config(epochs=experiments.EPOCHS["collapse"], weight_decay=0.0, adam_eps=experiments.COLLAPSE_ADAM_EPS)
    stablemax = base.replace(loss="stablemax", epochs=base.epochs * experiments.STABLEMAX_EPOCHS_FACTOR)
    assert runs == {"ce32": base.replace(loss="ce32"), "ce64": base, "stablemax": stablemax,
                    "ortho-adamw": base.replace(optimizer="ortho_adamw")}
    grok = {r.name: r.config for r in experiments.experiment("grokfast").runs}
    assert grok["adamw-matched-lr"].lr == pytest.approx(3e-3)
    assert (grok["grokfast"].grokfast_alpha, grok["grokfast"].grokfast_lambda) == (0.98, 2.0)


def test_ungrokking_continues_the_start_run_on_smaller_subsets(tmp_path, tiny_base):
    out = tmp_path / "ung"
    assert run("ungrokking", out, "--start", str(tiny_base)) == 0
    results = check_results(out, "ungrokking", start=tiny_base)
    sizes = [Config.from_dict(r["config"]).train_subset for r in results.values()]
    assert sorted(sizes) == sorted(int(f * P * P) for f in experiments.UNGROK_FRACS)
    # epoch 0 of every continuation is the start run's final model: its test accuracy
    start_acc = float(load_run(tiny_base).history["test_acc"][-1])
    for r in results.values():
        assert r["curve"]["test_acc"][0] == pytest.approx(start_acc, abs=1e-3)


def test_interrupted_experiment_resumes(tmp_path, monkeypatch):
    out = tmp_path / "g"
    calls = []
    real = sweep.train

    def stop_soon(*args, **kwargs):
        kwargs["should_stop"] = lambda: (calls.append(1), len(calls) == 50)[1]
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep, "train", stop_soon)
    summary = sweep.run_sweep(experiments.experiment("pizza", p=P, epochs=EPOCHS).runs, out)
    assert summary["interrupted"] == ["uniform-attention"]
    monkeypatch.setattr(sweep, "train", real)
    summary = sweep.run_sweep(experiments.experiment("pizza", p=P, epochs=EPOCHS).runs, out)
    assert summary["finished"] == ["uniform-attention"]
    assert json.loads((out / "results" / "uniform-attention.json").read_text())["epochs_trained"] == EPOCHS


def test_a_trained_run_whose_measures_were_lost_is_measured_again_not_retrained(tmp_path):
    out = tmp_path / "p"
    assert run("pizza", out) == 0
    weights = (out / "uniform-attention" / store.MODEL).read_bytes()
    result = out / "results" / "uniform-attention.json"
    before = json.loads(result.read_text())
    result.unlink()
    assert run("pizza", out) == 0
    after = json.loads(result.read_text())
    assert (out / "uniform-attention" / store.MODEL).read_bytes() == weights
    assert after["progress"] == before["progress"]


@pytest.mark.parametrize(("argv", "words"), [
    (["experiment", "nonsense"], "invalid choice"),
    (["experiment", "collapse", "--jobs", "0"], "--jobs must be"),
    (["experiment", "collapse", "--start", "runs/canonical"], "--start belongs to the ungrokking"),
    (["experiment", "collapse", "--p", "24"], "p must be a prime"),
    (["experiment", "collapse", "--epochs", "-3"], "epochs must lie"),
    (["experiment", "ungrokking", "--p", "23"], "the start run's config differs"),
    (["experiment", "ungrokking", "--start", "/nonexistent/run"], "no finished run at /nonexistent/run"),
])
def test_bad_experiment_commands_fail_in_one_line(argv, words, capsys, tmp_path):
    code = cli.main([*argv, "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and words in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_a_start_run_that_is_a_file_is_refused(tmp_path, capsys):
    bogus = tmp_path / "run"
    bogus.write_text("not a run")
    assert cli.main(["experiment", "ungrokking", "--start", str(bogus), "--out", str(tmp_path / "x")]) != 0
    assert "no finished run" in capsys.readouterr().err


def test_results_of_another_config_are_an_error(tmp_path, capsys):
    out = tmp_path / "c"
    (out / "results").mkdir(parents=True)
    other = Config(p=29, epochs=10)
    (out / "results" / "ce32.json").write_text(json.dumps({"config": other.to_dict()}))
    assert run("collapse", out) != 0
    err = capsys.readouterr().err
    assert "ce32.json holds" in err and "p=29" in err


def test_all_experiments_in_one_pool_go_to_their_own_folders(tmp_path, tiny_base):
    out = tmp_path / "all"
    assert cli.main(["experiment", "all", "--p", str(P), "--epochs", "100", "--out", str(out),
                     "--start", str(tiny_base), "--jobs", "2"]) == 0
    for name in experiments.EXPERIMENTS:
        wanted = experiments.experiment(name, p=P, epochs=100, start=tiny_base).runs
        assert set(experiments.load_results(out / name)) == {r.name for r in wanted}
    assert not (out / "results").exists()
