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

A reader reads only what belongs to the run: the manifest lists plain relative file
names inside the run directory, each a regular file (never a link, FIFO or device)
of the size it records, under :data:`MAX_FILE_BYTES`; every file is checked against
its schema (:func:`check_manifest`, :func:`check_config`, :func:`check_history`,
:func:`check_weights_match`) before anything uses it.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import os
import random
import re
import stat
import tempfile
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .. import __version__
from ..config import VARIANTS_START, Config, ConfigError
from ..model import build_model, weight_shapes

CONFIG = "config.json"
MODEL = "model.safetensors"
HISTORY = "history.json"
MANIFEST = "manifest.json"
CHECKPOINTS = "checkpoints"
RESUME = "resume.safetensors"
PROGRESS = "progress.safetensors"
FAILED = "failed.json"  # written instead of a manifest when training produced a non-finite loss
RUN_FILES = (CONFIG, MODEL, HISTORY)
# model.safetensors' header metadata: one key, because safetensors writes several in an
# order that changes from call to call (and the file's sha256 with it). The package version
# is in the manifest.
MODEL_METADATA = {"format": "pt"}
# The metrics the training loop records (grokking.training.loop), one list each in history.json.
HISTORY_KEYS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "weight_norm")
ACCURACY_KEYS = ("train_acc", "test_acc")

# The most bytes any file of a run may hold, checked from its stat before it is read. The
# committed runs' largest file is under 1 MB (runs/canonical/model.safetensors, 0.9 MB), a
# checkpoint of the default model about 1 MB and its resume state (weights, two Adam
# moments, history) a few MB; 256 MiB leaves two orders of magnitude for wider models while
# keeping a damaged manifest or a file that never ends (a device) from filling the memory.
MAX_FILE_BYTES = 256 * 2**20
# The most bytes a safetensors JSON header may hold: the limit the safetensors library
# itself enforces (100 MB); ours hold a few kB (names, dtypes, shapes, offsets, metadata).
MAX_HEADER_BYTES = 100_000_000
# Epochs are held as float64 by load_run: every int below 2**53 is exact there.
MAX_EPOCH = 2**53 - 1
# The dtypes a stored weight or bias may have (the trainer writes float32; float64 loads as well).
FLOAT_DTYPES = (torch.float32, torch.float64)
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
CHECKPOINT_NAME = re.compile(r"epoch_(\d+)\.safetensors")


class RunError(Exception):
    """A run directory or file is missing, damaged or inconsistent."""


def _short(value, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: a value quoted in a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------ atomic I/O
def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = False) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place.

    With ``fsync`` the data reach the disk before the rename and the rename before the
    return (the temporary file, then the directory, are synced): after a power loss the
    file is either the old one or the new one, never empty.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if fsync:
        _fsync_dir(path.parent)


def json_bytes(obj, indent: int | None = 1) -> bytes:
    """``obj`` as the store writes JSON: sorted keys, standard JSON only (no NaN or Infinity)."""
    return (json.dumps(obj, indent=indent, sort_keys=True, allow_nan=False) + "\n").encode()


def atomic_write_json(path: Path, obj, *, fsync: bool = False) -> None:
    atomic_write_bytes(path, json_bytes(obj), fsync=fsync)


def tensors_to_bytes(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    clean = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    return st_save(clean, metadata=metadata)


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    atomic_write_bytes(path, tensors_to_bytes(tensors, metadata))


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((kind for test, kind in kinds if test(mode)), "not a plain file")


def _check_stat(path: Path, info: os.stat_result, size: int | None) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise RunError(f"{path}: not a regular file ({_file_kind(info.st_mode)})")
    if info.st_size > MAX_FILE_BYTES:
        raise RunError(f"{path}: {info.st_size} bytes, more than a run file may hold ({MAX_FILE_BYTES})")
    if size is not None and info.st_size != size:
        raise RunError(f"{path}: truncated or altered ({info.st_size} bytes, manifest says {size})")


def read_bytes(path: Path, size: int | None = None, *, follow_symlinks: bool = True) -> bytes:
    """The bytes of the regular file ``path``, judged from its stat before it is read.

    A directory, FIFO, device or socket is refused without being read (opening a FIFO
    blocks, a device may never end), and so is a file over :data:`MAX_FILE_BYTES` or,
    given ``size``, of any other size. With ``follow_symlinks=False`` a symbolic link
    is refused too. The file is opened non-blocking and checked again once open, so a
    file swapped after the first check is refused as well.
    """
    path = Path(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        _check_stat(path, os.stat(path, follow_symlinks=follow_symlinks), size)
        with os.fdopen(os.open(path, flags), "rb") as fh:
            _check_stat(path, os.fstat(fh.fileno()), size)
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise RunError(f"{path}: file is missing") from None
    except OSError as exc:
        raise RunError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(data) > MAX_FILE_BYTES or (size is not None and len(data) != size):
        raise RunError(f"{path}: changed while it was read ({len(data)} bytes)")
    return data


def safetensors_header(data: bytes, path: Path) -> dict:
    """The JSON header of the safetensors bytes ``data``: its 8-byte little-endian length
    must fit in the file and under :data:`MAX_HEADER_BYTES`, its text be a JSON object and
    its ``__metadata__`` (if any) map strings to strings."""
    if len(data) < 8:
        raise RunError(f"{path}: not a valid safetensors file ({len(data)} bytes, shorter than its header length)")
    length = int.from_bytes(data[:8], "little")
    if length > min(len(data) - 8, MAX_HEADER_BYTES):
        raise RunError(f"{path}: not a valid safetensors file (header of {length} bytes in a file of {len(data)})")
    try:
        header = json.loads(data[8 : 8 + length])
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise RunError(f"{path}: not a valid safetensors file (header is not JSON: {exc})") from None
    if not isinstance(header, dict):
        raise RunError(f"{path}: not a valid safetensors file (header is not a JSON object)")
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise RunError(f"{path}: not a valid safetensors file (__metadata__ must map strings to strings)")
    return header


def parse_tensors(data: bytes, path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata in the safetensors bytes ``data`` (never anything but safetensors)."""
    header = safetensors_header(data, path)
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise RunError(f"{path}: not a valid safetensors file ({exc})") from None
    return tensors, header.get("__metadata__", {})


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    return parse_tensors(read_bytes(path), path)[0]


def load_tensors_with_metadata(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    return parse_tensors(read_bytes(path), path)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def parse_json(data: bytes, path: Path):
    """The standard JSON in ``data``: NaN and Infinity, which Python's json reads, are refused."""
    try:
        return json.loads(data, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise RunError(f"{path}: not valid JSON ({exc})") from None


def load_json(path: Path):
    return parse_json(read_bytes(path), path)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------ config
def check_keys(obj: dict, expected, path: Path, optional=()) -> None:
    """``obj`` has exactly the keys ``expected``, and any of ``optional`` (missing ones named
    first, in ``expected``'s order)."""
    missing = [key for key in expected if key not in obj]
    if missing:
        raise RunError(f"{path}: missing keys: {', '.join(missing)}")
    unknown = sorted(set(obj) - set(expected) - set(optional))
    if unknown:
        raise RunError(f"{path}: unknown keys: {', '.join(unknown)}")


def check_config(data, path: Path) -> Config:
    """The Config in the JSON value ``data`` read from ``path``: an object with every field
    of Config up to the variants (a stored config never falls back to a default there),
    the variants' fields where they differ from their defaults (:meth:`Config.to_dict`),
    no other key, each value of its field's type and within its bounds
    (:meth:`Config.validate`)."""
    if not isinstance(data, dict):
        raise RunError(f"{path}: not a JSON object")
    names = [f.name for f in fields(Config)]
    check_keys(data, names[:VARIANTS_START], path, optional=names[VARIANTS_START:])
    try:
        return Config.from_dict(data)
    except (ConfigError, TypeError, ValueError, ArithmeticError) as exc:
        raise RunError(f"{path}: invalid config ({exc})") from None


def load_config(run_dir: Path) -> Config:
    path = Path(run_dir) / CONFIG
    return check_config(load_json(path), path)


def config_bytes(config: Config) -> bytes:
    """``config.json`` as every writer writes it (one format for the whole package)."""
    return config.to_json().encode()


def write_config(run_dir: Path, config: Config) -> None:
    """Write ``run_dir/config.json`` (atomically), creating the directory if needed."""
    atomic_write_bytes(Path(run_dir) / CONFIG, config_bytes(config))


# ------------------------------------------------------------------ history
def _is_real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_finite(value) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _check_series(key: str, values: list, path: Path) -> None:
    if key == "epoch":
        bad = [v for v in values if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= MAX_EPOCH]
        if bad:
            raise RunError(f"{path}: epoch holds {_short(bad[0])}; epochs are ints in [0, 2**53)")
        if any(b <= a for a, b in itertools.pairwise(values)):
            raise RunError(f"{path}: epochs are not strictly increasing")
        return
    bad = [v for v in values if not _is_real(v) or not _is_finite(v)]
    if bad:
        raise RunError(f"{path}: {key} holds {_short(bad[0])}; a finished run's metrics are finite numbers")
    low, high = (0, 1) if key in ACCURACY_KEYS else (0, math.inf)
    bad = [v for v in values if not low <= v <= high]
    if bad:
        raise RunError(f"{path}: {key} holds {bad[0]}, outside [{low}, {high}]")


def check_history(history, path: Path) -> None:
    """A training history: a JSON object with exactly the keys HISTORY_KEYS, each a
    non-empty list, all of one length; ``epoch`` strictly increasing ints in [0, 2**53);
    the others finite numbers (not bools, never NaN or infinite: a run with a non-finite
    loss is never finished), accuracies in [0, 1], losses and weight norms >= 0."""
    if not isinstance(history, dict):
        raise RunError(f"{path}: not a training history (not a JSON object)")
    check_keys(history, HISTORY_KEYS, path)
    for key in HISTORY_KEYS:
        if not isinstance(history[key], list) or not history[key]:
            raise RunError(f"{path}: {key} is not a non-empty list")
    lengths = {key: len(history[key]) for key in HISTORY_KEYS}
    if len(set(lengths.values())) > 1:
        raise RunError(f"{path}: lists of different lengths ({', '.join(f'{k} {n}' for k, n in lengths.items())})")
    for key in HISTORY_KEYS:
        _check_series(key, history[key], path)


# ------------------------------------------------------------------ weights
@functools.lru_cache(maxsize=8)
def state_layout(config: Config) -> dict[str, tuple[tuple[int, ...], torch.dtype | None]]:
    """Every tensor the trainer saves for ``config`` (the whole ``state_dict`` of the model
    it builds) by name: its shape, and the one dtype it must have, or ``None`` for a
    tensor the model holds as floats (a weight, bias or float buffer), which may be any of
    FLOAT_DTYPES. The weights of :func:`weight_shapes` come first.

    The model is built once per config (the buffers, e.g. the bool attention mask, are
    TransformerLens's own); the random states its seeding touches are restored.
    """
    # TransformerLens seeds numpy's legacy global state, so that is the state to restore.
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    with torch.random.fork_rng(devices=[]):  # the CPU generator (forking CUDA's would initialise CUDA)
        model = build_model(config)
    random.setstate(py_state)
    np.random.set_state(np_state)  # noqa: NPY002
    layout = {name: (shape, None) for name, shape in weight_shapes(config).items()}
    for name, tensor in model.state_dict().items():
        if name not in layout:
            layout[name] = (tuple(tensor.shape), None if tensor.is_floating_point() else tensor.dtype)
    return layout


def check_weights_match(config: Config, state: dict[str, torch.Tensor], path: Path) -> None:
    """``state`` holds exactly the tensors the trainer saves for ``config``: every weight of
    :func:`weight_shapes`, bias and buffer, none other, each of its shape; those the model
    holds as floats float32 or float64, the others (the bool attention mask) of the model's dtype."""
    layout = state_layout(config)
    missing = [name for name in layout if name not in state]
    if missing:
        raise RunError(f"{path}: {'weight' if len(missing) == 1 else 'weights'} {', '.join(missing)} "
                       f"{'is' if len(missing) == 1 else 'are'} missing")
    extra = sorted(set(state) - set(layout))
    if extra:
        raise RunError(f"{path}: tensors {', '.join(map(_short, extra))} do not belong to the model")
    for name, (shape, dtype) in layout.items():
        tensor = state[name]
        if tuple(tensor.shape) != shape:
            raise RunError(f"{path}: {name} has shape {tuple(tensor.shape)} but config.json implies {shape}")
        if dtype is None and tensor.dtype not in FLOAT_DTYPES:
            raise RunError(f"{path}: {name} has dtype {tensor.dtype}; weights are float32 or float64")
        if dtype is not None and tensor.dtype != dtype:
            raise RunError(f"{path}: buffer {name} has dtype {tensor.dtype}, the model's is {dtype}")


# ------------------------------------------------------------------ manifest
def check_file_name(name, manifest_path: Path) -> None:
    """A name the manifest may list: a non-empty relative POSIX path, components neither
    empty nor ``.`` nor ``..``, no backslash, NUL or other control character."""
    if not isinstance(name, str) or not name:
        raise RunError(f"{manifest_path}: lists an empty file name")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise RunError(f"{manifest_path}: lists {_short(name)}, a name with a NUL or control character")
    if "\\" in name:
        raise RunError(f"{manifest_path}: lists {_short(name)}, a name with a backslash")
    if name.startswith("/"):
        raise RunError(f"{manifest_path}: lists {_short(name)}, an absolute path")
    parts = name.split("/")
    if ".." in parts:
        raise RunError(f"{manifest_path}: lists {_short(name)}, a path with '..'")
    if "" in parts or "." in parts:
        raise RunError(f"{manifest_path}: lists {_short(name)}, not a plain relative path")


def _check_entry(name: str, entry, manifest_path: Path) -> None:
    if not isinstance(entry, dict) or set(entry) != {"bytes", "sha256"}:
        raise RunError(f"{manifest_path}: the entry of {name} is not an object with exactly bytes and sha256")
    size, digest = entry["bytes"], entry["sha256"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RunError(f"{manifest_path}: bytes of {name} is {_short(size)}, not an int >= 0")
    if size > MAX_FILE_BYTES:
        raise RunError(f"{manifest_path}: bytes of {name} is {size}, more than a run file may hold ({MAX_FILE_BYTES})")
    if not isinstance(digest, str) or not SHA256_HEX.fullmatch(digest):
        raise RunError(f"{manifest_path}: sha256 of {name} is {_short(digest)}, not 64 lowercase hex digits")


def check_manifest(manifest, manifest_path: Path) -> dict[str, dict]:
    """The ``files`` of a manifest: a JSON object whose ``files`` maps names (see
    :func:`check_file_name`) to ``{"bytes": int >= 0, "sha256": 64 hex digits}`` and
    lists every one of RUN_FILES."""
    if not isinstance(manifest, dict):
        raise RunError(f"{manifest_path}: not a JSON object")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise RunError(f"{manifest_path}: files is not an object mapping file names to their bytes and sha256")
    for name, entry in files.items():
        check_file_name(name, manifest_path)
        _check_entry(name, entry, manifest_path)
    missing = [name for name in RUN_FILES if name not in files]
    if missing:
        raise RunError(f"{manifest_path}: does not list {', '.join(missing)} (a run lists {', '.join(RUN_FILES)})")
    return files


def read_manifest(run_dir: Path) -> dict:
    """``run_dir/manifest.json``, a regular file (not a link), checked by :func:`check_manifest`."""
    path = Path(run_dir) / MANIFEST
    manifest = parse_json(read_bytes(path, follow_symlinks=False), path)
    check_manifest(manifest, path)
    return manifest


def _inside(run_dir: Path, name: str) -> Path:
    """``run_dir / name`` once it is known to resolve to a place inside ``run_dir``."""
    path = run_dir / name
    try:
        inside = path.resolve().is_relative_to(run_dir.resolve())
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise RunError(f"{path}: cannot be resolved ({exc})") from None
    if not inside:
        raise RunError(f"{path}: lies outside the run directory {run_dir} (through a symbolic link)")
    return path


def _verified_files(run_dir: Path) -> tuple[dict, dict[str, bytes]]:
    """The manifest and the bytes of every file it lists, each checked against it."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: run directory does not exist")
    manifest = read_manifest(run_dir)
    blobs = {}
    files = manifest["files"]
    for name, want in files.items():
        path = _inside(run_dir, name)
        blobs[name] = read_bytes(path, want["bytes"], follow_symlinks=False)
        if sha256(blobs[name]) != want["sha256"]:
            raise RunError(f"{path}: altered (sha256 does not match manifest.json)")
    return manifest, blobs


def verify_run(run_dir: Path) -> dict:
    """Check the manifest's schema and every file it lists against it; return the manifest.

    Every file is a regular file inside the run directory (no symbolic link) whose size,
    taken from its stat before it is opened, and sha256 match the manifest.
    """
    return _verified_files(run_dir)[0]


# ------------------------------------------------------------------ finished runs
def _sync_write(run_dir: Path, files: dict[str, bytes], manifest: dict) -> None:
    """Write ``files`` then the manifest listing them, each durably (the manifest last)."""
    for name, blob in files.items():
        atomic_write_bytes(run_dir / name, blob, fsync=True)
    atomic_write_json(run_dir / MANIFEST, manifest, fsync=True)


def write_final(run_dir: Path, config: Config, state: dict[str, torch.Tensor], history: dict) -> None:
    """Write the final weights, history and manifest of a finished run (config.json included).

    The history must pass :func:`check_history` (a run is never finished with a history no
    reader accepts); every file is synced to disk, the manifest last.
    """
    run_dir = Path(run_dir)
    check_history(history, run_dir / HISTORY)
    blobs = {
        CONFIG: config_bytes(config),
        MODEL: tensors_to_bytes(state, MODEL_METADATA),
        HISTORY: json_bytes(history, indent=None),
    }
    manifest = {
        "grokking_version": __version__,
        "torch_version": torch.__version__,
        "epochs": config.epochs,
        "files": {name: {"sha256": sha256(blob), "bytes": len(blob)} for name, blob in blobs.items()},
    }
    _sync_write(run_dir, blobs, manifest)


def add_file(run_dir: Path, name: str, blob: bytes) -> None:
    """Add (or replace) an extra file of a finished run and record it in the manifest
    (both synced to disk, the manifest last)."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    check_file_name(name, run_dir / MANIFEST)
    _inside(run_dir, name)
    if len(blob) > MAX_FILE_BYTES:
        raise RunError(f"{run_dir / name}: {len(blob)} bytes, more than a run file may hold ({MAX_FILE_BYTES})")
    manifest["files"][name] = {"sha256": sha256(blob), "bytes": len(blob)}
    _sync_write(run_dir, {name: blob}, manifest)


def read_run(run_dir: Path) -> tuple[Config, dict[str, torch.Tensor], dict]:
    """Verified config, final state dict and history of a finished run, each parsed from
    the very bytes the manifest check read, and each checked against its schema."""
    run_dir = Path(run_dir)
    _, blobs = _verified_files(run_dir)
    config = check_config(parse_json(blobs[CONFIG], run_dir / CONFIG), run_dir / CONFIG)
    state, _ = parse_tensors(blobs[MODEL], run_dir / MODEL)
    check_weights_match(config, state, run_dir / MODEL)
    history = parse_json(blobs[HISTORY], run_dir / HISTORY)
    check_history(history, run_dir / HISTORY)
    return config, state, history


# ------------------------------------------------------------------ checkpoints
def checkpoint_path(run_dir: Path, epoch: int) -> Path:
    return Path(run_dir) / CHECKPOINTS / f"epoch_{epoch:06d}.safetensors"


def checkpoint_epochs(run_dir: Path) -> list[int]:
    """The epochs of the checkpoints in ``run_dir/checkpoints``: the files named exactly as
    :func:`checkpoint_path` names them (others there are not read)."""
    folder = Path(run_dir) / CHECKPOINTS
    if not folder.is_dir():
        return []
    epochs = []
    for path in folder.iterdir():
        match = CHECKPOINT_NAME.fullmatch(path.name)
        if match and checkpoint_path(run_dir, int(match.group(1))).name == path.name:
            epochs.append(int(match.group(1)))
    return sorted(epochs)
