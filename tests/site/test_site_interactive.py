"""The built site's interactive parts in a real browser, at a laptop's and a phone's width.

- the navigation opens on a phone (the sidebar dialog shows the table of contents);
- each explorer responds: picking from its menu changes what is drawn, hovering a cell
  shows a tooltip, hovering a phase-grid cell redraws its curves;
- plotly.js comes from the site itself, once, and only on pages that draw with it;
- nothing is wider than its column (equations scroll), glued numbers are not bold;
- each page's own weight stays under the budget.
"""

from __future__ import annotations

from pathlib import Path

import book_site
import pytest
from book_site import CHROMIUM, HTML

try:
    import playwright.sync_api  # noqa: F401 - only whether it is there (the fixtures use it)
except ImportError:
    pytest.skip("playwright is not installed: pip install -r requirements.txt", allow_module_level=True)

if not CHROMIUM.exists():
    pytest.skip(f"no browser at {CHROMIUM}", allow_module_level=True)

WIDTHS = {"laptop": 1280, "phone": 390}
EXPLORERS = {  # page: how many figures it draws with Plotly
    "book/attention": 1, "book/neurons": 1, "book/logits": 1, "book/phase": 1, "book/progress": 1,
}
PLOTLY_JS = "_static/plotly/plotly.min.js"
PAGE_BUDGET = 3 * 1024 * 1024  # bytes of a page's own: its HTML and the images only it shows


@pytest.fixture(params=list(WIDTHS), ids=list(WIDTHS))
def page_at(request, browser, server):
    """A function that opens a docname at this width and returns the Playwright page."""
    width = WIDTHS[request.param]
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme="light",
                                  service_workers="block", has_touch=request.param == "phone")
    blocked, errors = [], []

    def open_page(docname: str):
        page = context.new_page()
        book_site.block_external(page, blocked)
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(server.url(f"{docname}.html"), wait_until="load")
        page.wait_for_load_state("networkidle")
        return page

    open_page.width = width
    open_page.name = request.param
    yield open_page
    context.close()
    assert not blocked, f"requests left localhost: {blocked}"
    assert not errors, f"console errors: {errors}"


def wait_for_plots(page, count: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('.plotly-graph-div').length === n && "
        "[...document.querySelectorAll('.plotly-graph-div')].every(d => d._fullLayout)", arg=count)


def visible_traces(page, index: int = 0) -> list[int]:
    return page.evaluate(
        "i => { const gd = document.querySelectorAll('.plotly-graph-div')[i];"
        " return gd._fullData.map((t, j) => t.visible === true ? j : -1).filter(j => j >= 0); }", index)


def pick_menu_item(page, item: int, index: int = 0) -> None:
    """Open the figure's dropdown and click its ``item``-th entry, as a reader would."""
    gd = page.locator(".plotly-graph-div").nth(index)
    gd.scroll_into_view_if_needed()
    gd.locator(".updatemenu-header-group").click()
    gd.locator(".updatemenu-dropdown-button-group .updatemenu-dropdown-button").nth(item).click()
    page.wait_for_timeout(300)


def hover_plot_centre(page, index: int = 0, subplot: str = ".nsewdrag") -> str:
    """Move the mouse over the middle of a figure's (first) plot area; the tooltip text."""
    gd = page.locator(".plotly-graph-div").nth(index)
    gd.scroll_into_view_if_needed()
    box = gd.locator(subplot).first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_timeout(300)
    return hover_text(gd)


def hover_text(gd) -> str:
    """The text of the tooltips now shown in a figure (SVG: textContent, not innerText)."""
    return gd.evaluate("g => [...g.querySelectorAll('.hoverlayer .hovertext')].map(t => t.textContent).join(' ')")


def figure_title(page, index: int = 0) -> str:
    return page.locator(".plotly-graph-div").nth(index).evaluate("g => g.querySelector('.gtitle').textContent")


# ------------------------------------------------------------------ navigation
def test_navigation_opens(page_at):
    page = page_at("book/neurons")
    if page_at.name == "phone":
        toggle = page.locator(".primary-toggle:visible").first
        toggle.click()
        dialog = page.locator("#pst-primary-sidebar-modal")
        dialog.wait_for(state="visible", timeout=5000)
        assert dialog.evaluate("d => d.open")
        links = dialog.locator("a.reference.internal:visible")
        assert links.count() >= 5, "the table of contents is not in the opened navigation"
        links.filter(has_text="Training").first.click()
        page.wait_for_load_state("load")
        assert page.url.endswith("training.html")
    else:
        assert page.locator("#pst-primary-sidebar a.reference.internal:visible").count() >= 5


# ------------------------------------------------------------------ explorers
def test_attention_explorer_switches_heads_and_hovers(page_at):
    page = page_at("book/attention")
    wait_for_plots(page, EXPLORERS["book/attention"])
    assert visible_traces(page) == [0]
    tip = hover_plot_centre(page)
    assert "a = " in tip and "b = " in tip and "attention to a" in tip, tip
    pick_menu_item(page, 2)
    assert visible_traces(page) == [2]
    assert "Head 2" in figure_title(page)


def test_neuron_picker_changes_the_neuron(page_at):
    page = page_at("book/neurons")
    wait_for_plots(page, EXPLORERS["book/neurons"])
    assert visible_traces(page) == [0, 1]
    title = figure_title(page)
    pick_menu_item(page, 3)
    assert visible_traces(page) == [6, 7]
    assert figure_title(page) != title
    tip = hover_plot_centre(page)
    assert "a = " in tip and "neuron " in tip, tip


def test_logit_explorer_hovers_the_sum(page_at):
    page = page_at("book/logits")
    wait_for_plots(page, EXPLORERS["book/logits"])
    tip = hover_plot_centre(page)
    assert "(a + b) mod" in tip and "logit of c" in tip, tip
    pick_menu_item(page, 1)
    assert visible_traces(page) == [1]


TRAINING_STATE = """() => { const gd = document.querySelector('.plotly-graph-div');
  return {frame: +gd.getAttribute('data-frame'), title: gd.layout.title.text,
          table: JSON.stringify(gd.data[5].z), bars: JSON.stringify(gd.data[6].y),
          cursor: gd.layout.shapes[0].x0, slider: +document.querySelector('.tc-slider').value}; }"""


def test_training_explorer_follows_the_slider_buttons_and_hover(page_at):
    page = page_at("book/progress")
    wait_for_plots(page, EXPLORERS["book/progress"])
    start = page.evaluate(TRAINING_STATE)
    assert start["frame"] == 0 and start["slider"] == 0 and start["title"].startswith("Epoch 0 of")
    n = page.evaluate("() => document.querySelector('.plotly-graph-div').layout.meta.training.epoch.length")
    assert n >= 100, f"only {n} frames"
    slider = page.locator(".tc-slider")
    slider.scroll_into_view_if_needed()
    # drag the slider's thumb to about 60% of its track, as a reader would
    box = slider.bounding_box()
    page.mouse.move(box["x"] + 4, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_timeout(300)
    moved = page.evaluate(TRAINING_STATE)
    assert 0.4 * n < moved["frame"] < 0.8 * n, moved["frame"]
    assert moved["slider"] == moved["frame"]
    for key in ("title", "table", "bars", "cursor"):
        assert moved[key] != start[key], f"moving the slider did not change the {key}"
    page.locator(".tc-next").click()
    page.wait_for_timeout(200)
    assert page.evaluate(TRAINING_STATE)["frame"] == moved["frame"] + 1
    page.locator(".tc-prev").click()
    page.locator(".tc-prev").click()
    page.wait_for_timeout(200)
    assert page.evaluate(TRAINING_STATE)["frame"] == moved["frame"] - 1
    play = page.locator(".tc-play")
    play.click()
    page.wait_for_timeout(800)
    play.click()  # pause
    played = page.evaluate(TRAINING_STATE)["frame"]
    assert played > moved["frame"], "play did not advance the frames"
    page.wait_for_timeout(400)
    assert page.evaluate(TRAINING_STATE)["frame"] == played, "pause did not stop the frames"
    tip = hover_plot_centre(page, subplot=".x2y2 .nsewdrag")  # the (a, b) table
    assert "a = " in tip and "b = " in tip and ("train, " in tip or "test, " in tip), tip


def test_phase_explorer_draws_the_hovered_cell(page_at):
    page = page_at("book/phase")
    wait_for_plots(page, EXPLORERS["book/phase"])
    curves = "() => JSON.stringify(document.querySelector('.plotly-graph-div').data[1].y)"
    before = page.evaluate(curves)
    gd = page.locator(".plotly-graph-div").first
    gd.scroll_into_view_if_needed()
    box = gd.locator(".nsewdrag").first.bounding_box()  # the grid (the first subplot)
    page.mouse.move(box["x"] + box["width"] * 0.08, box["y"] + box["height"] * 0.92)  # a corner cell
    page.wait_for_timeout(400)
    tip = hover_text(gd)
    assert "train fraction" in tip and "weight decay" in tip, tip
    assert page.evaluate(curves) != before, "hovering a cell did not redraw its curves"


# ------------------------------------------------------------------ offline, legible, light
def test_plotly_js_shipped_once_and_loaded_only_where_needed():
    assert (HTML / PLOTLY_JS).is_file()
    assert len(list(HTML.rglob("plotly*.js"))) == 1
    for html in HTML.rglob("*.html"):
        text = html.read_text(errors="replace")
        draws = 'class="plotly-graph-div"' in text
        assert (PLOTLY_JS in text) == draws, html
        assert "cdn.plot.ly" not in text and "cdn.jsdelivr" not in text, html


OVERFLOW_JS = """() => {
  const article = document.querySelector('article.bd-article');
  const right = article.getBoundingClientRect().right + 1;
  const scrolls = el => { for (let e = el; e && e !== article; e = e.parentElement) {
      const s = getComputedStyle(e); if (['auto', 'scroll', 'hidden'].includes(s.overflowX)) return true; }
    return false; };
  return [...article.querySelectorAll('*')].filter(el => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.right > right && !scrolls(el.parentElement) && !scrolls(el);
  }).slice(0, 5).map(el => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right));
}"""


@pytest.mark.parametrize("docname", book_site.toc_docnames(), ids=book_site.page_name)
def test_nothing_wider_than_the_column(page_at, docname):
    page = page_at(docname)
    page.evaluate(book_site.WAIT_FOR_MATHJAX_JS, 30_000)
    assert page.evaluate(OVERFLOW_JS) == []


def test_glued_numbers_are_not_bold(page_at):
    page = page_at("book/neurons")
    weights = page.evaluate("() => [...document.querySelectorAll('p > span.pasted-text')]"
                            ".map(s => getComputedStyle(s).fontWeight)")
    assert weights and set(weights) == {"400"}


def test_a_figure_opens_full_size(page_at):
    page = page_at("book/neurons")
    img = page.locator(".cell_output img").first
    img.scroll_into_view_if_needed()
    img.click()
    overlay = page.locator(".figure-zoom")
    overlay.wait_for(state="visible")
    assert overlay.locator("img").evaluate("i => i.getBoundingClientRect().width") >= page_at.width - 1
    page.keyboard.press("Escape")
    assert overlay.count() == 0


def own_bytes(html: Path) -> int:
    """The page's HTML and the images it shows (_images/ is per figure); shared theme
    files, MathJax and plotly.js are counted once for the site, not per page."""
    text = html.read_text(errors="replace")
    total = html.stat().st_size
    for image in (HTML / "_images").glob("*"):
        if f"_images/{image.name}" in text:
            total += image.stat().st_size
    return total


@pytest.mark.parametrize("docname", book_site.toc_docnames(), ids=book_site.page_name)
def test_page_weight_budget(built_site, docname):
    weight = own_bytes(HTML / f"{docname}.html")
    assert weight <= PAGE_BUDGET, f"{docname}: {weight / 1e6:.2f} MB of its own"
