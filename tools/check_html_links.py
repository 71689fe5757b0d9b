"""Check the internal links of a built HTML site (by default the book in ``_build/html``).

Every ``href`` and ``src`` on every page that points inside the site must
name a file that exists there, and a ``#fragment`` on a link to an HTML page
must name an ``id`` (or ``<a name>``) on that page. External links (``https:``,
``mailto:``, ...) are left to Sphinx's linkcheck builder. The theme's Jinja
templates that Sphinx copies into ``_static`` are not pages and are skipped.

    python tools/check_html_links.py [SITE_DIR]

Prints one line per broken link, ``page: link (reason)``, and exits 1 when
there is any, 0 otherwise. Standard library only, so it runs before or without
the project's environment.
"""

from __future__ import annotations

import argparse
import sys
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

LINK_ATTRS = {"href", "src"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)
            elif name in LINK_ATTRS and tag != "base":
                self.links.append(value)

    handle_startendtag = handle_starttag


@cache
def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    page.close()
    return page


def _is_external(link: str) -> bool:
    parts = urlsplit(link)
    return bool(parts.scheme) or link.startswith("//")


def check_link(site: Path, page: Path, link: str) -> str | None:
    """The reason ``link`` on ``page`` is broken, or None when it is fine (or external)."""
    link = link.strip()
    if not link or _is_external(link):
        return None
    parts = urlsplit(link)
    if parts.path:
        target = (page.parent / unquote(parts.path)).resolve()
        if site not in target.parents and target != site:
            return "points outside the site"
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return "no such file"
    else:
        target = page
    fragment = unquote(parts.fragment)
    if fragment and target.suffix == ".html" and fragment not in _parse(target).ids:
        return f"no id {fragment!r} in {target.relative_to(site)}"
    return None


def pages(site: Path) -> list[Path]:
    """The site's HTML pages: every ``.html`` file except the theme's templates under ``_static``."""
    return [p for p in sorted(site.rglob("*.html")) if p.relative_to(site).parts[0] != "_static"]


def broken_links(site: Path) -> list[tuple[str, str, str]]:
    """(page, link, reason) for every broken internal link under ``site``."""
    site = site.resolve()
    found = []
    for page in pages(site):
        for link in dict.fromkeys(_parse(page).links):  # each distinct link once per page
            reason = check_link(site, page, link)
            if reason is not None:
                found.append((str(page.relative_to(site)), link, reason))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", default="_build/html", type=Path,
                        help="the built site (default: _build/html)")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"{args.site}: no index.html (build the site first)", file=sys.stderr)
        return 2
    found = broken_links(args.site)
    for page, link, reason in found:
        print(f"{page}: {link} ({reason})")
    checked = len(pages(args.site.resolve()))
    print(f"{args.site}: internal links of {checked} pages checked, {len(found)} broken", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
