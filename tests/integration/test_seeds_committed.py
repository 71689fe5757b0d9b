"""The committed seeds sweep: five runs of the default config that differ only in their seeds."""

from pathlib import Path

import pytest
import torch
from matplotlib.figure import Figure

from grokking.analysis import seeds
from grokking.config import Config
from grokking.figures import seed_figures
from grokking.runs import store

ROOT = Path(__file__).resolve().parents[2]  # tests/integration/ -> the repository
SEEDS_DIR = ROOT / "runs" / "seeds"
CANONICAL_RUN = ROOT / "runs" / "canonical"


@pytest.fixture(scope="module")
def seed_contexts():
    return seeds.load_seed_contexts(SEEDS_DIR, CANONICAL_RUN)


def test_committed_seed_runs_verify_and_differ_only_in_seeds(seed_contexts):
    dirs = seeds.seed_run_dirs(SEEDS_DIR, CANONICAL_RUN)
    assert len(dirs) >= 5
    assert dirs[0] == CANONICAL_RUN
    assert seeds.seed_run_dirs(SEEDS_DIR) == dirs[1:]  # without ``first``: the sweep alone, by seed
    sweep_seeds = [store.load_config(d).model_seed for d in dirs[1:]]
    assert sweep_seeds == sorted(sweep_seeds)
    for d in dirs:
        store.verify_run(d)
        config = store.load_config(d)
        assert config.replace(model_seed=999, split_seed=598) == Config()
    assert len({(c.config.model_seed, c.config.split_seed) for c in seed_contexts}) == len(dirs)


def test_every_seed_learns_the_cos_algorithm_on_its_own_frequencies(seed_contexts):
    summaries = [seeds.seed_summary(c) for c in seed_contexts]
    assert all(s["grok_epoch"] is not None and s["final_test_acc"] >= 0.99 for s in summaries)
    assert len({tuple(s["key_frequencies"]) for s in summaries}) >= 2  # not all the same frequencies
    cross = seeds.cross_fit(seed_contexts)
    own = cross.diagonal()
    other = cross[~torch.eye(len(seed_contexts), dtype=torch.bool)]
    assert own.min() > 0.8  # each run's logits are mostly cos(w(a + b - c)) at its own frequencies
    assert other.mean() < own.min()
    for s in summaries:
        assert s["logit_variance_explained"] == pytest.approx(float(own[summaries.index(s)]), abs=1e-6)


def test_seed_figures_draw(seed_contexts):
    figures = seed_figures(seed_contexts)
    assert set(figures) == {"seed_loss_curves", "seed_frequency_fingerprints"}
    for name, draw in figures.items():
        assert isinstance(draw(), Figure), name
    assert next(seeds.run_label(c) for c in seed_contexts) == "committed (999/598)"


def test_no_seed_runs_is_a_one_line_error(tmp_path):
    with pytest.raises(store.RunError, match="no finished seed runs") as err:
        seeds.seed_run_dirs(tmp_path)
    assert "\n" not in str(err.value)
