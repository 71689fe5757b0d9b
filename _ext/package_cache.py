"""Sphinx extension: re-execute every page when the grokking package or a committed run changes.

myst-nb's execution cache is keyed on each notebook's code only, so an edit to
the package would leave stale outputs in place. At the start of each build this
extension hashes ``grokking/**/*.py``, every committed run's manifest (the paper run,
the seeds) and the phase sweep's result tables; when the
hash differs from the one stored beside the execution cache, it empties the cache
and marks every page out of date.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAMP = "grokking-package.sha256"


def watched_files(root: Path = ROOT) -> list[Path]:
    """What the chapters' outputs depend on besides their own code: the package's modules,
    every committed run's manifest (the paper run, the seeds) and the phase results."""
    runs = root / "runs"
    return (sorted((root / "grokking").rglob("*.py")) + sorted(runs.glob("*/manifest.json"))
            + sorted(runs.glob("*/*/manifest.json")) + sorted(runs.glob("*/results/*.json")))


def package_digest() -> str:
    h = hashlib.sha256()
    for path in watched_files():
        if path.exists():
            h.update(str(path.relative_to(ROOT)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _cache_dir(app) -> Path:
    configured = getattr(app.config, "nb_execution_cache_path", "") or ""
    return Path(configured) if configured else Path(app.outdir).parent / ".jupyter_cache"


def _check(app) -> None:
    cache = _cache_dir(app)
    stamp = cache.parent / STAMP
    digest = package_digest()
    app.env.grokking_package_changed = not stamp.exists() or stamp.read_text().strip() != digest
    if app.env.grokking_package_changed:
        if cache.exists():
            shutil.rmtree(cache)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest + "\n")


def _outdated(app, env, added, changed, removed):
    if getattr(env, "grokking_package_changed", False):
        return sorted(env.found_docs - set(added) - set(changed) - set(removed))
    return []


def setup(app):
    app.connect("builder-inited", _check)
    app.connect("env-get-outdated", _outdated)
    return {"version": "1.0", "parallel_read_safe": True, "env_version": 1}
