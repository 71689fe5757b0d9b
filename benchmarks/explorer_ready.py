"""How soon each explorer page is usable, and how much each page weighs on its own.

Serves the built site (``_build/html``; build it first) on localhost and opens each page
that draws with Plotly in headless Chromium, ``--runs`` times, each in a fresh browser
context (a cold cache: plotly.js is fetched every time). "Ready" is the time from the
start of navigation until every Plotly figure on the page is drawn and its menu can be
used. Also prints each chapter's own weight (its HTML and the images only it shows;
plotly.js, MathJax and the theme are counted once for the site). The last line is JSON.

    python benchmarks/explorer_ready.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "site"))

import book_site  # noqa: E402 - the site tests' server and browser helpers
from playwright.sync_api import sync_playwright  # noqa: E402
from test_site_interactive import EXPLORERS, PLOTLY_JS, own_bytes  # noqa: E402

READY_JS = """n => document.querySelectorAll('.plotly-graph-div').length === n &&
  [...document.querySelectorAll('.plotly-graph-div')].every(d => d._fullLayout &&
    d.querySelector('.updatemenu-header-group, .nsewdrag'))"""


def ready_ms(browser, server, docname: str, width: int) -> float:
    context = browser.new_context(viewport={"width": width, "height": 900}, service_workers="block")
    try:
        page = context.new_page()
        book_site.block_external(page, [])
        page.goto(server.url(f"{docname}.html"), wait_until="commit")
        page.wait_for_function(READY_JS, arg=EXPLORERS[docname], timeout=60_000)
        return float(page.evaluate("performance.now()"))
    finally:
        context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not (book_site.HTML / PLOTLY_JS).exists():
        print(f"no built site with plotly.js at {book_site.HTML}; build the book first", file=sys.stderr)
        return 1
    result = {"plotly_js_bytes": (book_site.HTML / PLOTLY_JS).stat().st_size, "ready_ms": {}, "page_bytes": {}}
    with book_site.LocalServer() as server, sync_playwright() as playwright:
        browser = book_site.launch_browser(playwright)
        for docname in EXPLORERS:
            for label, width in (("laptop", 1280), ("phone", 390)):
                times = [ready_ms(browser, server, docname, width) for _ in range(args.runs)]
                result["ready_ms"][f"{docname}@{label}"] = {"median": round(statistics.median(times)),
                                                            "max": round(max(times))}
                print(f"{docname:16} {label:6} ready: median {statistics.median(times):5.0f} ms, "
                      f"max {max(times):5.0f} ms over {args.runs} cold loads")
        browser.close()
    for docname in book_site.toc_docnames():
        result["page_bytes"][docname] = own_bytes(book_site.HTML / f"{docname}.html")
        print(f"{docname:16} {result['page_bytes'][docname] / 1e6:5.2f} MB of its own")
    print(f"plotly.js, once for the site: {result['plotly_js_bytes'] / 1e6:.2f} MB")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
