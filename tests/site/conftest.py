"""Session fixtures of the browser tests: the built site, a local server, headless Chromium.

Shared by test_site_browser.py and test_site_interactive.py, so the book is built (when
stale) and Chromium launched once per session.
"""

from __future__ import annotations

import book_site
import pytest

PAGES = book_site.toc_docnames()


def _say(config, line: str) -> None:
    """A line on the terminal now, whatever pytest's output capturing."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if terminal:
        terminal.write_line(line)
    else:
        print(line)


@pytest.fixture(scope="session")
def built_site(pytestconfig) -> book_site.BuildResult:
    result = book_site.ensure_built()
    if result.ran:
        _say(pytestconfig, f"\n[site] built the book in {result.seconds:.0f} s "
                           f"({'; '.join(result.reasons)}); log: {result.log}")
    missing = [d for d in PAGES if not (book_site.HTML / f"{d}.html").exists()]
    if missing:
        pytest.fail(f"the build produced no HTML for {missing}" + (
            f" (jupyter-book exited {result.returncode}):\n{result.log_tail()}" if result.ran else
            f" and {book_site.BUILD_MODE_VAR}={result.mode} forbade building"), pytrace=False)
    return result


@pytest.fixture(scope="session")
def server(built_site):
    with book_site.LocalServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright  # the test modules skip when it is missing

    with sync_playwright() as playwright:
        chromium = book_site.launch_browser(playwright)
        yield chromium
        chromium.close()


