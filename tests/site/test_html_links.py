"""tools/check_html_links.py: the internal-link check the links and book workflows run on the built site."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # tests/site/ -> the repository


@pytest.fixture(scope="module")
def checker():
    spec = importlib.util.spec_from_file_location("check_html_links", ROOT / "tools" / "check_html_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def site(tmp_path: Path, pages: dict[str, str]) -> Path:
    for name, body in pages.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<!DOCTYPE html><html><body>{body}</body></html>")
    return tmp_path


def test_a_sound_site_has_no_broken_links(tmp_path, checker):
    root = site(tmp_path, {
        "index.html": '<a href="book/a.html#sec-1">A</a> <a href="book/">dir</a> <a href="#top">top</a>'
                      '<span id="top"></span> <img src="_images/x.png">'
                      '<a href="https://example.org/nope">ext</a> <a href="mailto:a@b.c">mail</a>'
                      '<a href="book/a.html?x=1#sec%202">query, quoted id</a>',
        "book/a.html": '<h1 id="sec-1">1</h1><h2 id="sec 2">2</h2>'
                       '<a href="../index.html">up</a><a href="#">#</a>',
        "book/index.html": '<a name="old-style"></a><a href="a.html">a</a>',
        "_images/x.png": "",
        "_static/template.html": "<a href=\"{{ pathto('x', 1) }}\">jinja, not a page</a>",
    })
    assert checker.broken_links(root) == []
    assert checker.main([str(root)]) == 0


def test_broken_links_are_reported(tmp_path, checker, capsys):
    root = site(tmp_path, {
        "index.html": '<a href="missing.html">m</a> <a href="book/a.html#nowhere">f</a> <a href="#gone">g</a>'
                      '<script src="_static/missing.js"></script> <a href="../../etc/passwd">out</a>',
        "book/a.html": '<h1 id="here">1</h1>',
    })
    found = {(link, reason.split(" ")[0]) for _, link, reason in checker.broken_links(root)}
    assert found == {
        ("missing.html", "no"),
        ("book/a.html#nowhere", "no"),
        ("#gone", "no"),
        ("_static/missing.js", "no"),
        ("../../etc/passwd", "points"),
    }
    assert checker.main([str(root)]) == 1
    out = capsys.readouterr().out
    assert "index.html: book/a.html#nowhere (no id 'nowhere' in book/a.html)" in out


def test_a_missing_site_is_an_error(tmp_path, checker):
    assert checker.main([str(tmp_path / "nothing")]) == 2
