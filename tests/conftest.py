from pathlib import Path

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from grokking.config import Config
from grokking.runs import CANONICAL_RUN


@pytest.fixture
def tiny_config() -> Config:
    """A small, quick configuration with the paper's structure."""
    return Config(p=23, d_model=32, n_heads=4, d_head=8, d_mlp=64, epochs=60,
                  eval_every=10, checkpoint_every=20)


@pytest.fixture(scope="session")
def canonical():
    from grokking.runs import load_run

    if not (CANONICAL_RUN / "manifest.json").exists():
        pytest.fail(f"the committed run is missing at {CANONICAL_RUN}")
    return load_run(CANONICAL_RUN)


@pytest.fixture(autouse=True)
def _deterministic_threads():
    torch.manual_seed(0)
    yield


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


class Float64Watch(TorchDispatchMode):
    """Records the largest float64 tensor any operation produces while active."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor) and t.dtype == torch.float64:
                self.largest = max(self.largest, t.numel())
        return out


@pytest.fixture
def float64_watch():
    """A fresh Float64Watch: ``with float64_watch: ...`` then read ``.largest``."""
    return Float64Watch()
