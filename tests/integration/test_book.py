"""Book integrity: chapters paired for Colab, build settings that fail on errors."""

import ast
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml

import grokking

ROOT = Path(__file__).resolve().parents[2]  # tests/integration/ -> the repository


def chapters() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for c in toc["chapters"]]
    return [ROOT / f"{f}.md" for f in files]


@pytest.mark.parametrize("md", chapters(), ids=lambda p: p.stem)
def test_chapter_paired_notebook_in_sync(md):
    assert md.exists(), md
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} missing: run `make pair`"
    def code(nb):
        return [c.source for c in nb.cells if c.cell_type == "code"]
    assert code(jupytext.read(md)) == code(jupytext.read(ipynb)), f"{ipynb.name} is stale: run `make pair`"


def test_build_settings_fail_on_errors():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "cache"
    assert config["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert config["execute"].get("allow_errors") is False
    assert "package_cache" in config["sphinx"]["local_extensions"]


def _pair_tool():
    """tools/pair_chapters.py as a module (the one home of the setup-cell template)."""
    spec = importlib.util.spec_from_file_location("pair_chapters", ROOT / "tools" / "pair_chapters.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("md", chapters(), ids=lambda p: p.stem)
def test_every_setup_cell_is_the_template(md):
    tool = _pair_tool()
    first = next(c for c in jupytext.read(md).cells if c.cell_type == "code")
    assert first.source == tool.setup_cell(), f"{md.name}: the setup cell differs from the template (make pair)"
    assert first.metadata.get("tags") == ["remove-cell"]


def test_pair_check_passes_and_catches_a_stale_copy(tmp_path, monkeypatch):
    tool = _pair_tool()
    assert tool.main(["--check"]) == 0  # the committed chapters are paired
    copy = tmp_path / "chapter.md"
    copy.write_text(chapters()[1].read_text())
    monkeypatch.setattr(tool, "chapters", lambda: [copy])
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    assert tool.main([]) == 0  # pairs the copy: writes chapter.ipynb
    assert tool.main(["--check"]) == 0
    # a setup cell edited by hand is reported, and so is a notebook that drifted
    copy.write_text(copy.read_text().replace("importlib.util.find_spec", "importlib.util.find_spec ", 1))
    assert tool.main(["--check"]) == 1
    tool.main([])
    notebook = copy.with_suffix(".ipynb")
    notebook.write_text(notebook.read_text().replace("find_spec", "find_spec_", 1))
    assert tool.main(["--check"]) == 1


# ------------------------------------------------------------------ the setup cell's logic, run for real
# The cell runs in a subprocess (``python -S``: no site-packages, so this checkout's installed
# package is not importable, as in a fresh Colab session) from an empty working folder. ``git``
# on PATH is a wrapper that records its arguments and runs the real git; ``sys.executable`` is
# a script that records the pip commands and installs nothing. GROKKING_REPO points at a small
# local repository with the tag the cell clones.
DRIVER = """
import importlib.util, json, os, sys
sys.executable = os.environ["FAKE_PYTHON"]  # the cell's pip commands go to the recorder
if os.environ.get("IMPORT_FIRST"):
    import grokking  # a same-named package already imported in the session
cell = open(os.environ["CELL"]).read()
exec(compile(cell, "setup-cell", "exec"), {"__name__": "__main__"})
import grokking.chapter  # the package the cell installed, wherever another `grokking` is
print(json.dumps({"grokking": grokking.__file__, "runs": os.environ.get("GROKKING_RUNS")}))
"""
RECORDER = """#!{python} -S
import json, os, sys
with open(os.environ[{log!r}], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
{then}
"""
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def _git(*args, cwd) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _requirement_pins() -> dict[str, str]:
    """requirements.txt's ``==`` pins, by normalised name (read here, not through the tool)."""
    found = {}
    for raw in (ROOT / "requirements.txt").read_text().splitlines():
        line = raw.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[re.sub(r"[-_.]+", "-", name.strip()).lower()] = version.strip()
    return found


@pytest.fixture(scope="module")
def upstream(tmp_path_factory) -> dict:
    """A repository shaped like this one: tag ``old`` on its first commit, ``v<version>`` on its second."""
    repo = tmp_path_factory.mktemp("upstream") / "repo"
    (repo / "grokking").mkdir(parents=True)
    (repo / "runs").mkdir()
    (repo / "pyproject.toml").write_text("[project]\nname = 'grokking'\n")
    (repo / "grokking" / "__init__.py").write_text("")
    (repo / "grokking" / "chapter.py").write_text("")
    (repo / "runs" / "README").write_text("runs\n")
    _git("init", "--quiet", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "--quiet", "-m", "first", cwd=repo)
    _git("tag", "old", cwd=repo)
    (repo / "runs" / "README").write_text("runs, second commit\n")
    _git("commit", "--quiet", "-am", "second", cwd=repo)
    tag = f"v{_pair_tool().version()}"
    _git("tag", "-a", "-m", "release", tag, cwd=repo)  # annotated, as a release tag is
    return {"url": repo.as_uri(), "tag": tag, "commit": _git("rev-parse", "HEAD", cwd=repo).strip(),
            "old": _git("rev-parse", "old", cwd=repo).strip()}


@pytest.fixture
def run_cell(tmp_path, upstream):
    """``run_cell(...)``: run the cell in ``tmp_path/session``; (git calls, pip calls, the driver's JSON)."""
    bin_dir, session = tmp_path / "bin", tmp_path / "session"
    bin_dir.mkdir()
    session.mkdir()
    (tmp_path / "cell.py").write_text(_pair_tool().setup_cell())
    real_git = shutil.which("git")
    assert real_git, "git is not on PATH"
    git = bin_dir / "git"
    git.write_text(RECORDER.format(python=sys.executable, log="GIT_LOG",
                                   then=f"os.execv({real_git!r}, [{real_git!r}, *sys.argv[1:]])"))
    fake_python = bin_dir / "python"
    fake_python.write_text(RECORDER.format(python=sys.executable, log="PIP_LOG", then=""))
    for script in (git, fake_python):
        script.chmod(0o755)

    def run(pythonpath: str | None = None, import_first: bool = False, site: bool = False, ref: str | None = None):
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "GROKKING_REF", "GROKKING_RUNS", "PYTHONSTARTUP")}
        env.update(GIT_ENV, PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", GROKKING_REPO=upstream["url"],
                   CELL=str(tmp_path / "cell.py"), FAKE_PYTHON=str(fake_python),
                   GIT_LOG=str(tmp_path / "git.log"), PIP_LOG=str(tmp_path / "pip.log"))
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        if import_first:
            env["IMPORT_FIRST"] = "1"
        if ref:
            env["GROKKING_REF"] = ref
        for log in ("git.log", "pip.log"):
            (tmp_path / log).write_text("")
        flags = [] if site else ["-S"]
        result = subprocess.run([sys.executable, *flags, "-c", DRIVER], cwd=session, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        def calls(name):
            return [json.loads(line) for line in (tmp_path / name).read_text().splitlines()]
        return calls("git.log"), calls("pip.log"), json.loads(result.stdout.strip().splitlines()[-1])

    run.session = session
    return run


def _clones(git_calls):
    """The clone commands, from ``clone`` on (without git's own ``-c`` options)."""
    return [c[c.index("clone"):] for c in git_calls if "clone" in c]


def _assert_installed_from_clone(run_cell, upstream, pip_calls, out):
    book = run_cell.session / "grokking-book"
    assert _git("rev-parse", "HEAD", cwd=book).strip() == upstream["commit"]
    assert Path(out["grokking"]) == book / "grokking" / "__init__.py", out
    assert Path(out["runs"]) == book / "runs", out
    assert pip_calls[0] == ["-m", "pip", "install", "-q", "--no-deps", "-e", "grokking-book"], pip_calls


def test_setup_cell_clones_the_release_tag_and_installs_the_requirements_pins(run_cell, upstream):
    git_calls, pip_calls, out = run_cell()
    assert upstream["tag"] == f"v{grokking.__version__}"
    assert _clones(git_calls) == [["clone", "--depth", "1", "--branch", f"v{grokking.__version__}",
                                   upstream["url"], "grokking-book"]], git_calls
    _assert_installed_from_clone(run_cell, upstream, pip_calls, out)
    assert len(pip_calls) == 2, pip_calls
    head, packages = pip_calls[1][:4], pip_calls[1][4:]
    assert head == ["-m", "pip", "install", "-q"], pip_calls
    assert all("==" in p for p in packages), f"not pinned: {packages}"
    pinned = _requirement_pins()
    for name, version in (p.split("==") for p in packages):
        key = re.sub(r"[-_.]+", "-", name).lower()
        assert pinned.get(key) == version, f"{name}=={version}: requirements.txt pins {pinned.get(key)}"
    installed = {re.sub(r"[-_.]+", "-", p.split("==")[0]).lower() for p in packages}
    assert {"transformer-lens", "safetensors", "myst-nb"} <= installed, installed
    assert "torch" not in installed  # Colab's own, built for its GPU (tools/pair_chapters.py says why)


def test_setup_cell_clones_the_ref_grokking_ref_names(run_cell, upstream):
    git_calls, _, _ = run_cell(ref="old")
    assert _clones(git_calls) == [["clone", "--depth", "1", "--branch", "old", upstream["url"], "grokking-book"]]
    assert _git("rev-parse", "HEAD", cwd=run_cell.session / "grokking-book").strip() == upstream["old"]


@pytest.mark.parametrize("leftover", ["no .git", "no pyproject.toml", "git cannot read it", "another ref"])
def test_setup_cell_replaces_a_leftover_folder_that_is_not_a_complete_clone(run_cell, upstream, leftover):
    book = run_cell.session / "grokking-book"
    if leftover == "no .git":
        book.mkdir()
        (book / "pyproject.toml").write_text("")
    elif leftover == "git cannot read it":
        (book / ".git").mkdir(parents=True)
        (book / "pyproject.toml").write_text("")
    else:
        ref = "old" if leftover == "another ref" else upstream["tag"]
        _git("clone", "--quiet", "--depth", "1", "--branch", ref, upstream["url"], str(book), cwd=run_cell.session)
        if leftover == "no pyproject.toml":
            (book / "pyproject.toml").unlink()
    (book / "left-over").write_text("from the failed attempt")
    git_calls, pip_calls, out = run_cell()
    assert len(_clones(git_calls)) == 1, git_calls
    assert not (book / "left-over").exists(), "the leftover folder was not removed before cloning again"
    _assert_installed_from_clone(run_cell, upstream, pip_calls, out)


def test_setup_cell_reuses_a_complete_clone_at_the_ref(run_cell, upstream):
    book = run_cell.session / "grokking-book"
    _git("clone", "--quiet", "--depth", "1", "--branch", upstream["tag"], upstream["url"], str(book),
         cwd=run_cell.session)
    (book / "runs" / "cache").write_text("made by an earlier session")
    git_calls, pip_calls, out = run_cell()
    assert _clones(git_calls) == [], git_calls
    assert (book / "runs" / "cache").exists()
    _assert_installed_from_clone(run_cell, upstream, pip_calls, out)
    assert len(pip_calls) == 2  # the install still runs: the earlier session may have stopped before it


@pytest.mark.parametrize("import_first", [False, True], ids=["found", "imported"])
def test_setup_cell_installs_this_project_over_a_same_named_package(run_cell, upstream, tmp_path, import_first):
    foreign = tmp_path / "foreign"
    (foreign / "grokking").mkdir(parents=True)
    (foreign / "grokking" / "__init__.py").write_text("FOREIGN = True\n")  # no chapter.py
    git_calls, pip_calls, out = run_cell(pythonpath=str(foreign), import_first=import_first)
    assert len(_clones(git_calls)) == 1, git_calls
    _assert_installed_from_clone(run_cell, upstream, pip_calls, out)


def test_setup_cell_does_nothing_where_the_package_is_installed(run_cell):
    git_calls, pip_calls, out = run_cell(site=True)  # this venv, where the book is built
    assert (git_calls, pip_calls) == ([], [])
    assert not (run_cell.session / "grokking-book").exists()
    assert Path(out["grokking"]) == ROOT / "grokking" / "__init__.py"


def _third_party_imports(source: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m not in ("grokking", "__future__")}


def test_setup_cell_covers_every_import_of_the_package_and_the_chapters():
    tool = _pair_tool()
    modules = set()
    for path in (ROOT / "grokking").rglob("*.py"):
        modules |= _third_party_imports(path.read_text())
    for md in chapters():
        for cell in jupytext.read(md).cells:
            if cell.cell_type == "code":
                source = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!")))
                modules |= _third_party_imports(source)
    distributions = importlib.metadata.packages_distributions()
    provided = {re.sub(r"[-_.]+", "-", n).lower() for n in (*tool.COLAB_HAS, *tool.COLAB_INSTALLS)}
    missing = {}
    for module in sorted(modules):
        names = {re.sub(r"[-_.]+", "-", d).lower() for d in distributions.get(module, [module])}
        if not names & provided:
            missing[module] = sorted(names)
    assert not missing, f"imported, but neither in Colab nor installed by the setup cell: {missing}"
    assert "myst-nb" in tool.COLAB_INSTALLS  # the chapters' glue
