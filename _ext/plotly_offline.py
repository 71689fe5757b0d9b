"""Sphinx extension: plotly.js shipped once with the site, loaded only where a page draws with it.

The chapters' interactive figures are HTML outputs without plotly.js
(:func:`grokking.plotting.interactive.page_html`). This extension copies the
``plotly.min.js`` of the installed ``plotly`` package (the version ``requirements.txt``
pins) into the built site once, as ``_static/plotly/plotly.min.js``, and puts a
script tag for it at the top of each page whose body holds a Plotly figure. Nothing is
fetched from a CDN and nothing is inlined, so a page weighs only its own figures and
the browser caches plotly.js across pages. (The file is copied into the output, not
put in the source ``_static``: Jupyter Book would add every ``.js`` found there to
every page.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import plotly

TARGET = "_static/plotly/plotly.min.js"
MARK = 'class="plotly-graph-div"'  # what plotly's to_html writes for every figure


def source() -> Path:
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _load_where_needed(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body") or ""
    if MARK in body:
        src = context["pathto"](TARGET, 1)
        context["body"] = f'<script src="{src}" charset="utf-8"></script>\n' + body


def _copy(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / TARGET
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source(), target)


def setup(app):
    app.connect("html-page-context", _load_where_needed)
    app.connect("build-finished", _copy)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
