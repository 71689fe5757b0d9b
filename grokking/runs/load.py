"""Loading a finished run from a directory whose path the caller passes in.

Nothing here knows where the repository keeps its runs: the chapters, the CLI and the
tests pass the folder. The one-line errors name the directory and say how to make it.

>>> run = load_run(Path("runs/canonical"))
>>> run.model, run.history, run.data  # HookedTransformer, metrics, dataset
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import Config
from ..data import Dataset, make_dataset
from ..model import build_model
from . import store


@dataclass
class Run:
    """A finished run loaded from disk."""

    path: Path
    config: Config
    model: object  # transformer_lens.HookedTransformer, in eval mode
    history: dict[str, torch.Tensor]  # 1-D float64 tensors keyed like store.HISTORY_KEYS
    data: Dataset

    @property
    def checkpoint_epochs(self) -> list[int]:
        return store.checkpoint_epochs(self.path)

    def checkpoint_state(self, epoch: int) -> dict[str, torch.Tensor]:
        """The state dict saved at ``epoch`` (needs the run's checkpoints/ folder), checked as
        the final weights are: a regular file under store.MAX_FILE_BYTES holding exactly the
        tensors the trainer saves for this config (:func:`store.check_weights_match`)."""
        path = store.checkpoint_path(self.path, epoch)
        state = store.load_tensors(path)
        store.check_weights_match(self.config, state, path)
        return state


def model_from_state(config: Config, state: dict[str, torch.Tensor], device: str | torch.device = "cpu"):
    """A ``HookedTransformer`` for ``config`` holding the weights in ``state``."""
    model = build_model(config, device)
    model.load_state_dict(state)
    model.eval()
    return model


def is_finished_run(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a finished run (its manifest is written last)."""
    return (Path(run_dir) / store.MANIFEST).is_file()


def require_run(run_dir: str | Path) -> Path:
    """``run_dir`` as a Path if it holds a finished run; else a one-line :class:`store.RunError`
    that says where it looked and how to make one."""
    run_dir = Path(run_dir)
    if not is_finished_run(run_dir):
        raise store.RunError(
            f"no finished run at {run_dir} (looked for {run_dir / store.MANIFEST}); "
            f"train one with: python -m grokking train --out {run_dir}")
    return run_dir


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> Run:
    """Load and verify a finished run directory (see :func:`store.read_run`: every file is
    checked against the manifest and its schema before the model is built)."""
    run_dir = require_run(run_dir)
    config, state, history = store.read_run(run_dir)
    model = model_from_state(config, state, device)
    tensors = {k: torch.tensor(v, dtype=torch.float64) for k, v in history.items()}
    return Run(run_dir, config, model, tensors, make_dataset(config))


def config_key(config: Config) -> str:
    """A short name for a config's content (16 hex digits of its JSON's sha256)."""
    return hashlib.sha256(config.to_json().encode()).hexdigest()[:16]


def default_cache_dir() -> Path:
    """Where retrained runs are cached: $GROKKING_CACHE, else $XDG_CACHE_HOME/grokking, else ~/.cache/grokking."""
    base = os.environ.get("GROKKING_CACHE") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "grokking" if base else Path.home() / ".cache" / "grokking"
