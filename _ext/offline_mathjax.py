"""Sphinx extension: load the MathJax vendored in ``_static/mathjax`` once per page.

The book sets ``mathjax_path: mathjax/tex-chtml.js`` (relative to ``_static``) so
that math renders without a network. Jupyter Book 1.x, however, adds *every* ``.js``
file under ``_static`` to every page as a plain script. For MathJax that would run
``tex-chtml.js`` twice (once before its configuration) and run its on-demand TeX
extensions out of order. This extension takes the vendored files back out of
``html_js_files``; ``sphinx.ext.mathjax`` then adds ``tex-chtml.js`` exactly once,
after its configuration, and MathJax loads the rest itself when a page needs it.
"""

from __future__ import annotations

from posixpath import dirname

VENDORED = "mathjax/"


def _vendored_dir(app) -> str:
    path = app.config.mathjax_path or ""
    return dirname(path) + "/" if "://" not in path and dirname(path) else VENDORED


def _drop_vendored_scripts(app, config) -> None:
    prefix = _vendored_dir(app)

    def name(entry) -> str:
        return entry[0] if isinstance(entry, (tuple, list)) else str(entry)

    config.html_js_files = [e for e in config.html_js_files if not name(e).startswith(prefix)]


def setup(app):
    app.connect("config-inited", _drop_vendored_scripts)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
