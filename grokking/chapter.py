"""Helpers the book's chapters share: where the committed runs are, and small words.

The chapters find the committed runs through one documented default: the folder
named by the environment variable ``GROKKING_RUNS``, else ``../runs`` relative to
the working directory (a chapter runs in ``book/``, so that is the repository's
``runs/``). The Colab/Binder setup cell sets ``GROKKING_RUNS`` when it clones the
repository somewhere else. Nothing here looks at where the package is installed.
"""

from __future__ import annotations

import os
from pathlib import Path

from .plotting.interactive import page_html

RUNS_ENV = "GROKKING_RUNS"
DEFAULT_RUNS = Path("..") / "runs"  # relative to a chapter's working directory, book/


def runs_folder() -> Path:
    """The folder of committed runs: ``$GROKKING_RUNS``, else ``../runs``."""
    return Path(os.environ.get(RUNS_ENV) or DEFAULT_RUNS)


def committed_run() -> Path:
    """The committed run of the default config: ``runs_folder() / "canonical"``."""
    return runs_folder() / "canonical"


def seeds_folder() -> Path:
    """The committed seeds sweep: ``runs_folder() / "seeds"``."""
    return runs_folder() / "seeds"


def phase_folder() -> Path:
    """The committed phase-diagram sweep: ``runs_folder() / "phase"``."""
    return runs_folder() / "phase"


def experiments_folder() -> Path:
    """The committed Beyond-the-paper experiments: ``runs_folder() / "experiments"``."""
    return runs_folder() / "experiments"


def and_list(items) -> str:
    """'9', '9 and 33', '9, 33 and 38'."""
    items = [str(i) for i in items]
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class Interactive:
    """A Plotly figure as a chapter output (Jupyter shows it through ``_repr_html_``): its div
    and script, drawn by the plotly.js the built site ships (``_ext/plotly_offline.py``).
    In a notebook outside the book (Colab, Binder), show ``.figure`` with ``.figure.show()``."""

    def __init__(self, figure, post_script: str | None = None):
        self.figure = figure
        self.html = page_html(figure, post_script)

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<interactive figure: {self.figure.layout.title.text}>"
