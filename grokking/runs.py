"""Getting a trained model: the entry points the book's chapters use.

>>> run = load_or_train()            # the committed paper run, instantly
>>> run.model, run.history, run.data  # HookedTransformer, metrics, dataset
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from . import store
from .config import Config
from .data import Dataset, make_dataset
from .model import build_model

REPO_ROOT = Path(__file__).resolve().parent.parent
CANONICAL_RUN = REPO_ROOT / "runs" / "canonical"


@dataclass
class Run:
    """A finished run loaded from disk."""

    path: Path
    config: Config
    model: object  # transformer_lens.HookedTransformer, in eval mode
    history: dict[str, torch.Tensor]  # 1-D float64 tensors keyed like train.HISTORY_KEYS
    data: Dataset

    @property
    def checkpoint_epochs(self) -> list[int]:
        return store.checkpoint_epochs(self.path)

    def checkpoint_state(self, epoch: int) -> dict[str, torch.Tensor]:
        """The state dict saved at ``epoch`` (needs the run's checkpoints/ folder)."""
        state = store.load_tensors(store.checkpoint_path(self.path, epoch))
        store.check_weights_match(self.config, state, store.checkpoint_path(self.path, epoch))
        return state


def model_from_state(config: Config, state: dict[str, torch.Tensor], device: str | torch.device = "cpu"):
    """A ``HookedTransformer`` for ``config`` holding the weights in ``state``."""
    model = build_model(config, device)
    model.load_state_dict(state)
    model.eval()
    return model


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> Run:
    """Load and verify a finished run directory."""
    run_dir = Path(run_dir)
    config, state, history = store.read_run(run_dir)
    model = model_from_state(config, state, device)
    tensors = {k: torch.tensor(v, dtype=torch.float64) for k, v in history.items()}
    return Run(run_dir, config, model, tensors, make_dataset(config))


def config_key(config: Config) -> str:
    return hashlib.sha256(config.to_json().encode()).hexdigest()[:16]


def default_cache_dir() -> Path:
    base = os.environ.get("GROKKING_CACHE") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "grokking" if base else Path.home() / ".cache" / "grokking"


def load_or_train(
    config: Config | None = None,
    *,
    committed: str | Path = CANONICAL_RUN,
    cache_dir: str | Path | None = None,
    device: str | torch.device = "cpu",
    on_record: Callable[[dict], None] | None = None,
    retrain: bool = False,
) -> Run:
    """The committed run when its config is ``config``; else train it once into a cache.

    ``retrain=True`` ignores the committed run and trains (or reuses) the cached copy.

    Retraining a 40k-epoch run takes about 15 minutes on a laptop CPU, plus half a
    minute for the progress measures of its checkpoints. A cached run is keyed by
    the config's content, so a changed config never reuses stale weights; an
    interrupted cached run resumes where it stopped.
    """
    from .progress import write_progress
    from .train import train  # the training loop is only needed on a cache miss

    config = config or Config()
    committed = Path(committed)
    if not retrain and (committed / store.CONFIG).exists() and store.load_config(committed) == config:
        return load_run(committed, device)
    run_dir = Path(cache_dir or default_cache_dir()) / config_key(config)
    if (run_dir / store.MANIFEST).exists():
        return load_run(run_dir, device)
    run_dir.mkdir(parents=True, exist_ok=True)
    store.atomic_write_bytes(run_dir / store.CONFIG, config.to_json().encode())
    result = train(config, run_dir, device=device, resume=True, on_record=on_record)
    if not result.finished:
        raise store.RunError(f"{run_dir}: training stopped at epoch {result.epoch}")
    write_progress(run_dir)  # the progress measures the chapters plot, from the checkpoints
    return load_run(run_dir, device)


def first_epoch_reaching(history: dict[str, torch.Tensor], key: str, threshold: float) -> int | None:
    """The first recorded epoch where ``history[key] >= threshold`` (None if never)."""
    hits = (history[key] >= threshold).nonzero()
    return int(history["epoch"][hits[0, 0]]) if len(hits) else None
