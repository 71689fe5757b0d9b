"""The built site in a real browser: every page of _toc.yml loads cleanly and offline.

A session fixture reuses ``_build/html`` when it is newer than everything the build
reads, else runs ``make book``'s build command (BOOK_SITE_BUILD=always|never overrides
that); the site is served on 127.0.0.1 and opened in Debian's Chromium (headless, through
Playwright) with every request that leaves localhost aborted and recorded. Each page's
full-page screenshot goes to ``_build/screenshots/<page>.png``.

The module is skipped when playwright or /usr/bin/chromium (BOOK_CHROMIUM) is missing;
``.ci/run`` installs Debian's chromium.
"""

from __future__ import annotations

import book_site
import pytest
from book_site import CHROMIUM, ROOT, page_name

try:
    import playwright.sync_api  # noqa: F401 - only whether it is there (the fixtures use it)
except ImportError:
    pytest.skip("playwright is not installed: pip install -r requirements.txt", allow_module_level=True)

if not CHROMIUM.exists():
    pytest.skip(f"no browser at {CHROMIUM}: apt-get install --no-install-recommends chromium "
                "(.ci/run does this) or set BOOK_CHROMIUM", allow_module_level=True)

PAGES = book_site.toc_docnames()


def _listing(items, limit: int = 15) -> str:
    items = list(items)
    more = f"\n  ... and {len(items) - limit} more" if len(items) > limit else ""
    return "".join(f"\n  {item}" for item in items[:limit]) + more


# --------------------------------------------------------------------------- fixtures
# built_site, server and browser: tests/site/conftest.py (shared with test_site_interactive.py)


@pytest.fixture(scope="session")
def reports(browser, server):
    """Inspects each page once (on first use) and hands back its PageReport."""
    cache: dict[str, book_site.PageReport] = {}

    def get(docname: str) -> book_site.PageReport:
        if docname not in cache:
            cache[docname] = book_site.inspect_page(browser, server, docname)
        return cache[docname]

    return get


@pytest.fixture(params=PAGES, ids=page_name)
def report(request, reports) -> book_site.PageReport:
    rep = reports(request.param)
    if rep.load_error or rep.status != 200:
        pytest.fail(f"{rep.url} did not load: status {rep.status}, {rep.load_error}", pytrace=False)
    return rep


# --------------------------------------------------------------------------- the build


def test_book_builds_cleanly(built_site):
    """When this session built the book, the build (with -W -n) passed."""
    if not built_site.ran:
        return  # an up-to-date build was reused (or BOOK_SITE_BUILD=never)
    assert built_site.returncode == 0, (
        f"jupyter-book build exited {built_site.returncode} after {built_site.seconds:.0f} s; "
        f"end of {built_site.log}:\n{built_site.log_tail()}")


def test_site_root_redirects_to_first_page(browser, server):
    context = browser.new_context()
    try:
        page = context.new_page()
        book_site.block_external(page, blocked := [])
        page.goto(server.url(""), wait_until="load")
        page.wait_for_url(f"**/{PAGES[0]}.html", timeout=book_site.PAGE_TIMEOUT_MS)
        assert not blocked
    finally:
        context.close()


# --------------------------------------------------------------------------- every page


def test_no_console_errors(report):
    # Requests this test aborted are test_no_request_leaves_localhost's to report.
    console = [m for m in report.console_errors
               if not ("ERR_BLOCKED_BY_CLIENT" in m and any(url in m for url in report.blocked))]
    problems = [f"console: {m}" for m in console] + [f"page error: {m}" for m in report.page_errors]
    assert not problems, f"{report.url}:{_listing(problems)}"


def test_local_resources_load(report):
    assert not report.bad_responses, f"{report.url}: failed requests:{_listing(report.bad_responses)}"


def test_no_request_leaves_localhost(report):
    assert not report.blocked, f"{report.url} asked for (blocked):{_listing(report.blocked)}"


def test_images_load(report):
    assert not report.broken_images, (
        f"{report.url}: {len(report.broken_images)} of {report.image_count} images did not load:"
        f"{_listing(report.broken_images)}")


def test_math_is_rendered(report):
    if report.math.get("count"):
        assert report.math.get("state") == "typeset", f"{report.url}: {report.math}"
    assert not report.unrendered_math, f"{report.url}: math left untypeset:{_listing(report.unrendered_math)}"
    assert not report.math_errors, f"{report.url}: MathJax errors:{_listing(report.math_errors)}"
    assert not report.raw_tex, f"{report.url}: raw TeX in the visible text:{_listing(report.raw_tex)}"


def test_no_error_outputs(report):
    assert not report.error_outputs, f"{report.url}: error output:{_listing(report.error_outputs)}"


def test_launch_buttons_open_the_chapter_notebook(report):
    expected = book_site.launch_expectations()
    found = {}
    for url in report.launch_links:
        service, path = book_site.launch_target(url)
        assert path and path.endswith(".ipynb"), f"{service} launch link does not name a notebook: {url}"
        assert path == f"{report.docname}.ipynb", (
            f"{service} launch link opens {path}, not this page's notebook")
        assert (ROOT / path).is_file(), f"{service} launch link opens {path}, which is not in the repository"
        found[service] = url
    missing = sorted(set(expected) - set(found))
    assert not missing, f"{report.url}: no {', '.join(missing)} launch button (links: {report.launch_links})"


def test_download_notebook_resolves(report):
    notebooks = [u for u in report.download_links if u.split("?")[0].endswith(".ipynb")]
    assert notebooks, f"{report.url}: no .ipynb in the download dropdown ({report.download_links})"
    for url in report.download_links:
        status, body = book_site.http_get(url)
        assert status == 200, f"download link {url}: HTTP {status}"
        if url in notebooks:
            assert book_site.is_notebook(body), f"download link {url} is not a Jupyter notebook"


def test_screenshot_saved(report):
    assert report.screenshot and report.screenshot.stat().st_size > 0, f"no screenshot of {report.url}"


# --------------------------------------------------------------------------- search


def test_search_finds_fourier(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked, console, page_errors, bad = [], [], [], []
    try:
        page = context.new_page()
        book_site.block_external(page, blocked)
        book_site.watch_errors(page, console, page_errors, bad)
        page.goto(server.url("search.html?q=Fourier"), wait_until="load")
        results = page.locator("#search-results ul.search li a")
        results.first.wait_for(timeout=book_site.PAGE_TIMEOUT_MS)
        hits = results.evaluate_all("links => links.map(a => a.getAttribute('href'))")
        book_site.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(book_site.SCREENSHOTS / "search.png"), full_page=True)
    finally:
        context.close()
    assert hits, "searching for Fourier found nothing"
    assert not blocked, f"the search page asked for (blocked):{_listing(blocked)}"
    assert not console + page_errors + bad, f"search page errors:{_listing(console + page_errors + bad)}"
