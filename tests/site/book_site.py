"""Helpers for the browser tests of the built book (tests/site/test_site_browser.py).

* ``toc_docnames`` reads the pages from ``_toc.yml``;
* ``stale_reasons`` / ``ensure_built`` decide whether ``_build/html`` is up to date and
  rebuild it with ``make book``'s command when it is not;
* ``LocalServer`` serves ``_build/html`` on 127.0.0.1 (a free port, a daemon thread);
* ``launch_browser`` starts Debian's Chromium headless through Playwright;
* ``inspect_page`` loads one page, blocking every request that leaves localhost, and
  gathers everything the tests assert on into a ``PageReport``.

(The module is not called ``site``: that name is the standard library's.)
"""

from __future__ import annotations

import importlib.util
import json
import os
import posixpath
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]  # tests/site/ -> the repository
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
BUILD_LOG = ROOT / "_build" / "site-build.log"

CHROMIUM = Path(os.environ.get("BOOK_CHROMIUM", "/usr/bin/chromium"))
# Playwright itself adds --headless (headless=True) and a fresh, empty --user-data-dir
# (a temporary profile per launch); the rest are what this container needs: no sandbox
# as root, no GPU, and no background traffic to Google (updates, sync, QUIC probes).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

# BOOK_SITE_BUILD=auto (default): build when _build/html is missing or older than its inputs;
# always: build every time (a cached rebuild takes seconds); never: test whatever is there.
BUILD_MODE_VAR = "BOOK_SITE_BUILD"
BUILD_TIMEOUT_S = 3600
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
PAGE_TIMEOUT_MS = 60_000


# --------------------------------------------------------------------------- the book's pages


def _toc_files(entries) -> list[str]:
    files: list[str] = []
    for entry in entries or []:
        if "file" in entry:
            files.append(entry["file"])
        for key in ("chapters", "sections", "parts"):
            files += _toc_files(entry.get(key))
    return files


def toc_docnames(root: Path = ROOT) -> list[str]:
    """Every page in ``_toc.yml``, root first, as docnames (``book/intro``), extension-free."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"], *_toc_files(toc.get("chapters")), *_toc_files(toc.get("parts"))]
    names = [posixpath.splitext(f)[0] if f.endswith((".md", ".ipynb")) else f for f in files]
    return list(dict.fromkeys(names))


def page_name(docname: str) -> str:
    """A file-name-safe id for a page: ``book/intro`` -> ``intro``."""
    return docname.rsplit("/", 1)[-1] if docname.startswith("book/") else docname.replace("/", "-")


def launch_expectations(root: Path = ROOT) -> dict[str, str]:
    """Which launch services ``_config.yml`` turns on: {"colab": host, "binder": host}."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    launch = config.get("launch_buttons") or {}
    hosts = {}
    if launch.get("colab_url"):
        hosts["colab"] = urlsplit(launch["colab_url"]).hostname
    if launch.get("binderhub_url"):
        hosts["binder"] = urlsplit(launch["binderhub_url"]).hostname
    return hosts


# --------------------------------------------------------------------------- is the build current?


def _package_cache():
    """The book's own extension _ext/package_cache.py, which knows what executed pages depend on."""
    spec = importlib.util.spec_from_file_location("package_cache", ROOT / "_ext" / "package_cache.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_inputs(root: Path = ROOT) -> list[Path]:
    """The files a build depends on: chapters, book configuration, local extensions and
    static files, the grokking package, and the committed runs and results the chapters read."""
    files = [root / "_config.yml", root / "_toc.yml"]
    files += sorted((root / "book").glob("*.md"))
    files += _package_cache().watched_files(root)  # the package and the committed runs
    for folder in ("_ext", "_static"):
        files += sorted(p for p in (root / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return [f for f in files if f.exists()]


def stale_reasons(html: Path = HTML, root: Path = ROOT) -> list[str]:
    """Why ``html`` is not an up-to-date build of the book (empty when it is).

    The build's time is its newest HTML file: Sphinx rewrites the index, search and
    changed pages on every build, and every page when the configuration or (through
    ``_ext/package_cache``) the grokking package changes.
    """
    pages = [html / f"{d}.html" for d in toc_docnames(root)]
    missing = [p.relative_to(html).as_posix() for p in pages if not p.exists()]
    if missing:
        return [f"missing from {html.relative_to(root)}: {', '.join(missing)}"]
    built = max(p.stat().st_mtime for p in html.rglob("*.html"))
    newer = [f.relative_to(root).as_posix() for f in build_inputs(root) if f.stat().st_mtime > built]
    if newer:
        shown = ", ".join(newer[:8]) + (f" and {len(newer) - 8} more" if len(newer) > 8 else "")
        return [f"changed since the last build: {shown}"]
    return []


@dataclass
class BuildResult:
    mode: str
    ran: bool
    reasons: list[str] = field(default_factory=list)
    returncode: int | None = None
    seconds: float = 0.0
    log: Path | None = None

    def log_tail(self, lines: int = 60) -> str:
        if not self.log or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def build_command() -> list[str]:
    """``make book``'s build command, with the jupyter-book of the running interpreter's venv."""
    exe = Path(sys.executable).parent / "jupyter-book"
    return [str(exe) if exe.exists() else "jupyter-book", "build", ".", "-W", "-n", "--keep-going"]


def ensure_built(mode: str | None = None) -> BuildResult:
    """Build the book unless ``_build/html`` is up to date (see ``BUILD_MODE_VAR``)."""
    mode = (mode or os.environ.get(BUILD_MODE_VAR) or "auto").lower()
    if mode not in {"auto", "always", "never"}:
        raise ValueError(f"{BUILD_MODE_VAR}={mode!r}: expected auto, always or never")
    reasons = stale_reasons() if mode != "always" else ["BOOK_SITE_BUILD=always"]
    if mode == "never" or not reasons:
        return BuildResult(mode=mode, ran=False, reasons=reasons)
    BUILD_LOG.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with BUILD_LOG.open("w") as log:
        proc = subprocess.run(build_command(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                              timeout=BUILD_TIMEOUT_S, check=False)
    return BuildResult(mode=mode, ran=True, reasons=reasons, returncode=proc.returncode,
                       seconds=time.monotonic() - start, log=BUILD_LOG)


# --------------------------------------------------------------------------- serving the site


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class LocalServer:
    """``_build/html`` over HTTP on 127.0.0.1 and a free port, in a daemon thread."""

    def __init__(self, directory: Path = HTML):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(directory)))
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="book-site", daemon=True)

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return urljoin(self.base, path)


def http_get(url: str, timeout: float = 30) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, b""


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"data", "blob", "about"} or (parts.hostname or "") in LOCAL_HOSTS


# --------------------------------------------------------------------------- the browser


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def block_external(page, blocked: list[str]) -> None:
    """Let through only requests to localhost (and data:/blob: URLs); abort and record the rest."""

    def handler(route):
        url = route.request.url
        if is_local(url):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("blockedbyclient")

    page.route("**/*", handler)


def watch_errors(page, console_errors: list[str], page_errors: list[str], bad_responses: list[str]) -> None:
    def on_console(msg):
        if msg.type == "error":
            loc = msg.location or {}
            where = f" ({loc.get('url', '')}:{loc.get('lineNumber', '')})" if loc.get("url") else ""
            console_errors.append(msg.text + where)

    def on_response(resp):
        if resp.status >= 400:
            bad_responses.append(f"{resp.status} {resp.url}")

    def on_request_failed(req):
        if is_local(req.url):  # external ones are recorded (and aborted) by block_external
            bad_responses.append(f"failed ({req.failure}) {req.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda err: page_errors.append(str(err)))
    page.on("response", on_response)
    page.on("requestfailed", on_request_failed)


# JavaScript run in the page ----------------------------------------------------------------

WAIT_FOR_IMAGES_JS = """async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) if (img.loading === 'lazy') img.loading = 'eager';
  await Promise.all(imgs.map(img => img.complete ? null :
      new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); })));
  return imgs.filter(img => !(img.complete && img.naturalWidth > 0))
             .map(img => img.currentSrc || img.src || img.outerHTML.slice(0, 200));
}"""

WAIT_FOR_MATHJAX_JS = """async (timeoutMs) => {
  const count = document.querySelectorAll('.math').length;
  if (count === 0) return {count, state: 'no math on the page'};
  const t0 = Date.now();
  while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
    if (Date.now() - t0 > timeoutMs) return {count, state: 'MathJax never started'};
    await new Promise(r => setTimeout(r, 100));
  }
  await MathJax.startup.promise;
  return {count, state: 'typeset', version: MathJax.version};
}"""

MATH_RESULTS_JS = """() => {
  const short = el => el.textContent.trim().replace(/\\s+/g, ' ').slice(0, 120);
  const math = Array.from(document.querySelectorAll('.math'));
  return {
    unrendered: math.filter(el => !el.querySelector('mjx-container')).map(short),
    errors: Array.from(document.querySelectorAll('mjx-merror, [data-mjx-error]'))
                 .map(el => (el.getAttribute('data-mjx-error') || short(el)).slice(0, 200)),
  };
}"""

# Visible text outside code (pre, code, highlighted blocks) and outside typeset math:
# raw TeX delimiters there mean math that MathJax did not pick up.
RAW_TEX_JS = """() => {
  const skip = 'pre, code, kbd, script, style, textarea, .highlight, mjx-container, mjx-assistive-mml';
  const markers = ['$$', '\\\\(', '\\\\)', '\\\\[', '\\\\]', '\\\\begin{'];
  const hits = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || el.closest(skip) || !el.checkVisibility()) continue;
    const text = node.textContent;
    for (const m of markers) {
      const i = text.indexOf(m);
      if (i >= 0) hits.push(`${m} in "${text.slice(Math.max(0, i - 40), i + 60).replace(/\\s+/g, ' ')}"`);
    }
  }
  return hits;
}"""

# myst-nb 1.4 renders error outputs with the classes "output traceback" and stderr with
# "output stderr" (core/render.py); docutils marks broken markup as system messages.
ERROR_OUTPUTS_JS = """() => {
  const short = el => el.textContent.trim().replace(/\\s+/g, ' ').slice(0, 200);
  const found = [];
  for (const el of document.querySelectorAll(
      '.output.traceback, .output.stderr, .output.error, .system-message, .problematic'))
    found.push(`${el.className}: ${short(el)}`);
  for (const el of document.querySelectorAll('.cell_output'))
    if (/Traceback \\(most recent call last\\)|^\\w+(Error|Exception): /m.test(el.textContent)
        && !el.querySelector('.output.traceback'))
      found.push(`cell output with a traceback: ${short(el)}`);
  return found;
}"""

LINKS_JS = """() => ({
  launch: Array.from(document.querySelectorAll('.dropdown-launch-buttons a[href], '
        + 'a[href*="colab.research.google.com"], a[href*="mybinder.org"]')).map(a => a.href),
  download: Array.from(document.querySelectorAll('.dropdown-download-buttons a[href]')).map(a => a.href),
})"""


# --------------------------------------------------------------------------- one page


@dataclass
class PageReport:
    docname: str
    url: str
    status: int | None = None
    load_error: str | None = None
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    bad_responses: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    image_count: int = 0
    math: dict = field(default_factory=dict)
    unrendered_math: list[str] = field(default_factory=list)
    math_errors: list[str] = field(default_factory=list)
    raw_tex: list[str] = field(default_factory=list)
    error_outputs: list[str] = field(default_factory=list)
    launch_links: list[str] = field(default_factory=list)
    download_links: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    seconds: float = 0.0


def inspect_page(browser, server: LocalServer, docname: str) -> PageReport:
    """Load one page in a fresh browser context and record everything the tests check."""
    report = PageReport(docname=docname, url=server.url(f"{docname}.html"))
    start = time.monotonic()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light",
                                  service_workers="block")
    try:
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        block_external(page, report.blocked)
        watch_errors(page, report.console_errors, report.page_errors, report.bad_responses)
        try:
            response = page.goto(report.url, wait_until="load")
            report.status = response.status if response else None
            page.wait_for_load_state("networkidle")
        except Exception as err:
            report.load_error = f"{type(err).__name__}: {err}"
            return report
        report.image_count = page.evaluate("document.images.length")
        report.broken_images = page.evaluate(WAIT_FOR_IMAGES_JS)
        report.math = page.evaluate(WAIT_FOR_MATHJAX_JS, 30_000)
        math = page.evaluate(MATH_RESULTS_JS)
        report.unrendered_math, report.math_errors = math["unrendered"], math["errors"]
        report.raw_tex = page.evaluate(RAW_TEX_JS)
        report.error_outputs = page.evaluate(ERROR_OUTPUTS_JS)
        links = page.evaluate(LINKS_JS)
        report.launch_links = list(dict.fromkeys(links["launch"]))
        report.download_links = list(dict.fromkeys(links["download"]))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        report.screenshot = SCREENSHOTS / f"{page_name(docname)}.png"
        page.screenshot(path=str(report.screenshot), full_page=True)
        page.wait_for_timeout(200)  # let late console messages arrive
    finally:
        context.close()
        report.seconds = time.monotonic() - start
    return report


# --------------------------------------------------------------------------- launch links


def launch_target(url: str) -> tuple[str, str | None]:
    """(service, repository path of the notebook) for a Colab or Binder launch URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if "colab" in host:
        # https://colab.research.google.com/github/<org>/<repo>/blob/<branch>/<path>
        segments = parts.path.split("/")
        if "blob" in segments:
            i = segments.index("blob")
            return "colab", posixpath.normpath("/".join(segments[i + 2:]))
        return "colab", None
    # https://mybinder.org/v2/gh/<org>/<repo>/<branch>?urlpath=tree/<path> (or labpath=/filepath=)
    query = parse_qs(parts.query)
    for key in ("urlpath", "labpath", "filepath"):
        if key in query:
            value = unquote(query[key][0])
            for prefix in ("tree/", "lab/tree/", "notebooks/", "lab/"):
                if value.startswith(prefix):
                    value = value[len(prefix):]
                    break
            return "binder", posixpath.normpath(value)
    return "binder", None


def is_notebook(data: bytes) -> bool:
    try:
        nb = json.loads(data)
    except ValueError:
        return False
    return isinstance(nb, dict) and isinstance(nb.get("cells"), list) and "nbformat" in nb
