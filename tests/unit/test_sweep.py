"""Sweeps: the batched step against the single-run step, early stopping, resumable grids, the CLI."""

import json
import subprocess
import sys

import pytest
import torch

from grokking import sweep
from grokking.batched import NAMES, BatchedTrainer, batched_last_logits, member_losses
from grokking.config import Config
from grokking.data import make_dataset
from grokking.fast import loss_and_grads
from grokking.model import build_model
from grokking.train import EarlyStop, Trainer, train

# A small model that generalises within a few hundred epochs (test accuracy >= 99% near epoch 500).
QUICK = Config(p=23, frac_train=0.8, weight_decay=1.0, lr=3e-3, d_model=32, d_mlp=128, n_heads=2,
               d_head=16, model_seed=1, split_seed=1, epochs=1500)
# ... and one that cannot in that time (no weight decay, little data).
STUCK = QUICK.replace(frac_train=0.3, weight_decay=0.0, epochs=300)


def _members(base: Config) -> list[Config]:
    return [base.replace(model_seed=1, split_seed=1, weight_decay=1.0),
            base.replace(model_seed=2, split_seed=2, weight_decay=0.3),
            base.replace(model_seed=3, split_seed=3, weight_decay=0.0, lr=3e-3)]


def test_batched_loss_and_grads_equal_the_single_run_step(tiny_config):
    configs = _members(tiny_config)
    batch = BatchedTrainer(configs)
    logits = batched_last_logits(batch.weights, batch.train_tokens)
    losses = member_losses(logits, batch.train_labels)
    grads = torch.autograd.grad(losses.sum(), list(batch.weights.values()))
    for i, config in enumerate(configs):
        data = make_dataset(config)
        loss, ref_logits, ref_grads = loss_and_grads(build_model(config), data.train_tokens, data.train_labels)
        assert float(losses[i]) == pytest.approx(float(loss), rel=1e-6)
        torch.testing.assert_close(logits[i].detach(), ref_logits, atol=2e-6, rtol=1e-5)
        for (short, long), grad in zip(NAMES.items(), grads):
            scale = ref_grads[long].abs().max()
            assert (grad[i] - ref_grads[long]).abs().max() <= 1e-4 * scale, short


def test_batched_training_follows_each_members_own_run(tiny_config):
    configs = _members(tiny_config)
    batch = BatchedTrainer(configs)
    singles = [Trainer(c, build_model(c), make_dataset(c)) for c in configs]
    for _ in range(30):
        batched_losses, _ = batch.step()
        single_losses = [t.step()[0] for t in singles]
        # same init, data and AdamW: equal up to float rounding (which grows slowly over steps)
        assert batched_losses.tolist() == pytest.approx(single_losses, rel=1e-3)
    test_loss, test_acc = batch.evaluate("test")
    for i, t in enumerate(singles):
        loss, acc = t.evaluate(t.test_tokens, t.test_labels)
        assert float(test_loss[i]) == pytest.approx(loss, rel=1e-3)


def test_dropping_members_keeps_the_others_intact(tiny_config):
    configs = _members(tiny_config)
    batch = BatchedTrainer(configs)
    for _ in range(3):
        batch.step()
    before = [batch.member_state(i) for i in range(3)]
    batch.keep([0, 2])
    assert batch.size == 2 and batch.configs == [configs[0], configs[2]]
    for new, old in ((0, 0), (1, 2)):
        state = batch.member_state(new)
        for key in state:
            assert torch.equal(state[key], before[old][key]), key
    batch.step()  # still trains


def test_batched_rejects_mixed_shapes(tiny_config):
    with pytest.raises(ValueError, match="share"):
        BatchedTrainer([tiny_config, tiny_config.replace(frac_train=0.5)])


def test_early_stop_rule():
    rule = EarlyStop(threshold=0.99, patience=30)
    seq = [(0, 0.1), (10, 0.995), (20, 0.98), (30, 0.99), (40, 1.0), (50, 1.0), (60, 1.0)]
    stops = [rule.update(e, a) for e, a in seq]
    assert stops == [False, False, False, False, False, False, True]  # the streak restarted at 30


def test_train_stops_early_once_test_accuracy_held(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(QUICK.to_json())
    result = train(QUICK, run_dir, keep_checkpoints=False, early_stop=EarlyStop(0.99, 100))
    assert result.finished
    epochs, acc = result.history["epoch"], result.history["test_acc"]
    last = epochs[-1]
    assert last < QUICK.epochs
    start = last  # first epoch of the final streak at >= 99%
    for epoch, a in reversed(list(zip(epochs, acc))):
        if a < 0.99:
            break
        start = epoch
    assert last - start == 100


def _quick_runs():
    return [sweep.SweepRun("quick", QUICK, "row", True), sweep.SweepRun("stuck", STUCK, "row", True)]


@pytest.fixture(scope="module")
def quick_sweep(tmp_path_factory):
    """The two small runs swept once (patience 100 epochs): (folder, summary)."""
    out = tmp_path_factory.mktemp("quick-sweep")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sweep, "PATIENCE", 100)
        return out, sweep.run_sweep(_quick_runs(), out)


def test_sweep_writes_one_row_per_run_and_never_redoes_one(quick_sweep):
    tmp_path, summary = quick_sweep
    assert sorted(summary["finished"]) == ["quick", "stuck"]
    rows = {r["config"]["frac_train"]: r for r in sweep.load_results(tmp_path)}
    quick, stuck = rows[0.8], rows[0.3]
    assert quick["stopped_early"] and quick["epoch_test_99"] is not None
    assert quick["epochs_trained"] - quick["epoch_test_99"] >= 100
    assert quick["final_test_acc"] >= 0.99 and quick["key_frequencies"]
    assert not stuck["stopped_early"] and stuck["epochs_trained"] == STUCK.epochs
    assert stuck["epoch_test_99"] is None and stuck["final_test_acc"] < 0.99
    assert stuck["curve"]["epoch"][0] == 0 and stuck["curve"]["epoch"][-1] == STUCK.epochs
    files = sorted((tmp_path / "results").glob("*.json"))
    stamps = [f.stat().st_mtime_ns for f in files]
    again = sweep.run_sweep(_quick_runs(), tmp_path)
    assert sorted(again["skipped"]) == ["quick", "stuck"] and not again["finished"]
    assert [f.stat().st_mtime_ns for f in files] == stamps


def test_interrupted_sweep_continues_where_it_stopped(tmp_path, monkeypatch, quick_sweep):
    monkeypatch.setattr(sweep, "PATIENCE", 100)
    runs = [sweep.SweepRun("quick", QUICK, "row", True)]
    calls = {"n": 0}

    def stop_after_250():
        calls["n"] += 1
        return calls["n"] >= 250

    part = sweep.run_sweep(runs, tmp_path / "part", should_stop=stop_after_250)
    assert part["interrupted"] == ["quick"]
    assert not (tmp_path / "part" / "results").exists()
    rest = sweep.run_sweep(runs, tmp_path / "part")
    assert rest["finished"] == ["quick"]
    whole = [r for r in sweep.load_results(quick_sweep[0]) if r["config"] == QUICK.to_dict()]
    assert whole == sweep.load_results(tmp_path / "part")  # resuming reproduces the uninterrupted run exactly


def test_sweep_with_two_jobs_matches_one_job(tmp_path, monkeypatch):
    runs = [sweep.SweepRun("a", STUCK, "row", True), sweep.SweepRun("b", STUCK.replace(weight_decay=1.0), "row", True)]
    sweep.run_sweep(runs, tmp_path / "one", threads=1)
    summary = sweep.run_sweep(runs, tmp_path / "two", jobs=2, threads=1)
    assert sorted(summary["finished"]) == ["a", "b"]
    one, two = sweep.load_results(tmp_path / "one"), sweep.load_results(tmp_path / "two")
    assert [r["final_train_loss"] for r in one] == [r["final_train_loss"] for r in two]


def test_seeds_grid_keeps_whole_runs(tmp_path):
    runs = sweep.seed_runs(seeds=(5,), epochs=20)
    summary = sweep.run_sweep(runs, tmp_path)
    assert summary["finished"] == ["seed-5"]
    from grokking.runs import load_run

    run = load_run(tmp_path / "seed-5")
    assert run.config.model_seed == 5 and run.config.split_seed == 5 and int(run.history["epoch"][-1]) == 20
    assert sweep.run_sweep(runs, tmp_path)["skipped"] == ["seed-5"]
    with pytest.raises(sweep.SweepError, match="different config"):
        sweep.is_finished(sweep.seed_runs(seeds=(5,), epochs=30)[0], tmp_path)


def test_book_grids_cover_the_issue():
    phase = sweep.phase_runs()
    fracs = sorted({r.config.frac_train for r in phase})
    wds = sorted({r.config.weight_decay for r in phase})
    assert len(fracs) >= 6 and fracs[0] == 0.1 and fracs[-1] == 0.8
    assert len(wds) >= 5 and 0.0 in wds
    assert all(r.early_stop and r.keep == "row" for r in phase)
    seeds = sweep.seed_runs()
    assert len(seeds) >= 4 and all(r.config.replace(model_seed=999, split_seed=598) == Config() for r in seeds)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "grokking", *args], capture_output=True, text=True, timeout=300)


def test_cli_sweep_tiny_grid_resumes_and_rejects_bad_input(tmp_path):
    out = tmp_path / "grid"
    args = ("sweep", "phase", "--p", "13", "--fracs", "0.3,0.6", "--weight-decays", "0,1",
            "--epochs", "40", "--out", str(out))
    first = _cli(*args)
    assert first.returncode == 0, first.stderr
    assert "4 trained, 0 already done" in first.stdout
    rows = [json.loads(f.read_text()) for f in sorted((out / "results").glob("*.json"))]
    assert len(rows) == 4 and {r["config"]["p"] for r in rows} == {13}
    second = _cli(*args)
    assert second.returncode == 0 and "0 trained, 4 already done" in second.stdout
    listing = _cli(*args, "--list")
    assert listing.stdout.count("done") == 4
    for bad in (["--fracs", "a,b"], ["--jobs", "0"], ["--weight-decays", "-1"], ["--seeds", "1"]):
        result = _cli("sweep", "phase", "--out", str(tmp_path / "bad"), *bad)
        assert result.returncode == 2, bad
        assert len(result.stderr.strip().splitlines()) == 1 and "error" in result.stderr
    assert not (tmp_path / "bad" / "results").exists()
