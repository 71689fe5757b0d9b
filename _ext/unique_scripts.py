"""Sphinx extension: write each script tag once per page.

Sphinx 7.4 copies scripts added while the builder starts (sphinx-thebe's inline
configuration among them) into a page's script list twice. The duplicate of
sphinx-thebe's ``const THEBE_JS_URL = ...`` then throws "Identifier has already
been declared" in every browser console. This drops exact duplicates (same file,
same inline body, same attributes), keeping the first, in order.
"""

from __future__ import annotations


def _key(script) -> tuple:
    """File and attributes (an inline script's body among them). The repeated copies of an
    inline script name their missing file "" where the first has None, so both count as ""."""
    attributes = getattr(script, "attributes", None)
    if attributes is None:  # a plain string entry
        return (str(script), ())
    return (script.filename or "", tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _dedupe(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
