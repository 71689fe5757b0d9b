"""The on-disk run format: JSON and safetensors only, every write atomic.

A run directory holds::

    config.json          the Config
    model.safetensors    final weights, TransformerLens state-dict names
    history.json         metrics over training (keys: HISTORY_KEYS)
    manifest.json        package and torch versions, sha256 of the files above
    progress.safetensors progress measures per checkpoint (optional; see grokking.analysis.progress)
    checkpoints/         weights every `checkpoint_every` epochs and the resume
                         state (not committed to git; optional for readers)

Anything missing, truncated, altered or inconsistent raises :class:`RunError`
with a one-line message naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .. import __version__
from ..config import Config, ConfigError
from ..model import weight_shapes

CONFIG = "config.json"
MODEL = "model.safetensors"
HISTORY = "history.json"
MANIFEST = "manifest.json"
CHECKPOINTS = "checkpoints"
RESUME = "resume.safetensors"
PROGRESS = "progress.safetensors"
RUN_FILES = (CONFIG, MODEL, HISTORY)
# The metrics the training loop records (grokking.training.loop), one list each in history.json.
HISTORY_KEYS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "weight_norm")


class RunError(Exception):
    """A run directory or file is missing, damaged or inconsistent."""


# ------------------------------------------------------------------ atomic I/O
def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode())


def tensors_to_bytes(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    clean = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    return st_save(clean, metadata=metadata)


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    atomic_write_bytes(path, tensors_to_bytes(tensors, metadata))


def read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise RunError(f"{path}: file is missing") from None
    except OSError as exc:
        raise RunError(f"{path}: cannot be read ({exc.strerror})") from None


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    data = read_bytes(path)
    try:
        return st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise RunError(f"{path}: not a valid safetensors file ({exc})") from None


def load_tensors_with_metadata(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    data = read_bytes(path)
    try:
        tensors = st_load(data)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + header_len])
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise RunError(f"{path}: not a valid safetensors file ({exc})") from None
    return tensors, header.get("__metadata__", {}) or {}


def load_json(path: Path):
    try:
        return json.loads(read_bytes(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: not valid JSON ({exc})") from None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------ run files
def load_config(run_dir: Path) -> Config:
    path = Path(run_dir) / CONFIG
    try:
        return Config.from_dict(load_json(path))
    except (ConfigError, TypeError) as exc:
        raise RunError(f"{path}: invalid config ({exc})") from None


def check_weights_match(config: Config, state: dict[str, torch.Tensor], path: Path) -> None:
    for name, shape in weight_shapes(config).items():
        if name not in state:
            raise RunError(f"{path}: weight {name} is missing")
        if tuple(state[name].shape) != shape:
            raise RunError(
                f"{path}: {name} has shape {tuple(state[name].shape)} but config.json implies {shape}"
            )


def config_bytes(config: Config) -> bytes:
    """``config.json`` as every writer writes it (one format for the whole package)."""
    return config.to_json().encode()


def write_config(run_dir: Path, config: Config) -> None:
    """Write ``run_dir/config.json`` (atomically), creating the directory if needed."""
    atomic_write_bytes(Path(run_dir) / CONFIG, config_bytes(config))


def write_final(run_dir: Path, config: Config, state: dict[str, torch.Tensor], history: dict) -> None:
    """Write the final weights, history and manifest of a finished run (config.json included)."""
    run_dir = Path(run_dir)
    blobs = {
        CONFIG: config_bytes(config),
        MODEL: tensors_to_bytes(state, {"format": "pt", "producer": f"grokking {__version__}"}),
        HISTORY: (json.dumps(history, sort_keys=True) + "\n").encode(),
    }
    for name, blob in blobs.items():
        atomic_write_bytes(run_dir / name, blob)
    manifest = {
        "grokking_version": __version__,
        "torch_version": torch.__version__,
        "epochs": config.epochs,
        "files": {name: {"sha256": sha256(blob), "bytes": len(blob)} for name, blob in blobs.items()},
    }
    atomic_write_json(run_dir / MANIFEST, manifest)


def add_file(run_dir: Path, name: str, blob: bytes) -> None:
    """Add (or replace) an extra file of a finished run and record it in the manifest."""
    run_dir = Path(run_dir)
    manifest = load_json(run_dir / MANIFEST)
    atomic_write_bytes(run_dir / name, blob)
    manifest["files"][name] = {"sha256": sha256(blob), "bytes": len(blob)}
    atomic_write_json(run_dir / MANIFEST, manifest)


def verify_run(run_dir: Path) -> dict:
    """Check every file against the manifest; return the manifest."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: run directory does not exist")
    manifest = load_json(run_dir / MANIFEST)
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not set(RUN_FILES) <= set(files):
        raise RunError(f"{run_dir / MANIFEST}: does not list {', '.join(RUN_FILES)}")
    for name in files:
        path = run_dir / name
        data = read_bytes(path)
        want = files[name]
        if len(data) != want.get("bytes"):
            raise RunError(f"{path}: truncated or altered ({len(data)} bytes, manifest says {want.get('bytes')})")
        if sha256(data) != want.get("sha256"):
            raise RunError(f"{path}: altered (sha256 does not match manifest.json)")
    return manifest


def read_run(run_dir: Path) -> tuple[Config, dict[str, torch.Tensor], dict]:
    """Verified config, final state dict and history of a finished run."""
    run_dir = Path(run_dir)
    verify_run(run_dir)
    config = load_config(run_dir)
    state = load_tensors(run_dir / MODEL)
    check_weights_match(config, state, run_dir / MODEL)
    history = load_json(run_dir / HISTORY)
    if not isinstance(history, dict) or "epoch" not in history:
        raise RunError(f"{run_dir / HISTORY}: not a training history")
    return config, state, history


def checkpoint_path(run_dir: Path, epoch: int) -> Path:
    return Path(run_dir) / CHECKPOINTS / f"epoch_{epoch:06d}.safetensors"


def checkpoint_epochs(run_dir: Path) -> list[int]:
    folder = Path(run_dir) / CHECKPOINTS
    if not folder.is_dir():
        return []
    return sorted(int(p.stem.split("_")[1]) for p in folder.glob("epoch_*.safetensors"))
