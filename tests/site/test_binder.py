"""Binder (repo2docker, binder/) and the launch links.

Binder gets the project's own pins, the CPU torch wheel and the package itself;
the Colab and Binder buttons name the paired notebooks by their repository path.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]  # tests/site/ -> the repository
BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def read_requirements(path: Path) -> tuple[dict[str, Requirement], list[str]]:
    """(requirements by canonical name, option lines such as --extra-index-url)."""
    reqs, options = {}, []
    for raw in path.read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            options.append(line)
            continue
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name not in reqs, f"{path.name}: {req.name} listed twice"
        reqs[name] = req
    return reqs, options


def pinned(req: Requirement) -> Version:
    specs = list(req.specifier)
    assert len(specs) == 1 and specs[0].operator == "==", f"{req} is not pinned with =="
    return Version(specs[0].version)


@pytest.fixture(scope="module")
def binder():
    return read_requirements(BINDER / "requirements.txt")


@pytest.fixture(scope="module")
def root():
    return read_requirements(ROOT / "requirements.txt")[0]


def test_every_binder_pin_is_the_projects_pin(binder, root):
    reqs, _ = binder
    for name, req in reqs.items():
        assert name in root, f"binder/requirements.txt pins {req.name}, which requirements.txt does not"
        ours, theirs = pinned(req), pinned(root[name])
        # torch may carry the CPU wheel's local label (2.13.0+cpu): same release.
        assert ours.public == theirs.public and ours.local in (None, theirs.local, "cpu"), (
            f"{req.name}: binder pins {ours}, requirements.txt pins {theirs}")


def test_binder_has_what_the_chapters_need(binder):
    reqs, _ = binder
    needed = {"torch", "transformer-lens", "jupytext", "myst-nb"}
    # postBuild installs the package with --no-deps: every dependency it declares must be here.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed |= {canonicalize_name(Requirement(dep).name) for dep in project["dependencies"]}
    assert needed <= set(reqs), f"missing from binder/requirements.txt: {sorted(needed - set(reqs))}"


def test_binder_torch_is_the_cpu_wheel(binder):
    reqs, options = binder
    assert any(opt.split() in (["--extra-index-url", CPU_INDEX], ["--index-url", CPU_INDEX])
               or opt in (f"--extra-index-url={CPU_INDEX}", f"--index-url={CPU_INDEX}") for opt in options), (
        f"binder/requirements.txt does not use the CPU wheel index {CPU_INDEX}")
    assert pinned(reqs["torch"]).local in (None, "cpu")


def test_post_build_installs_the_package():
    post_build = BINDER / "postBuild"
    text = post_build.read_text()
    assert text.startswith("#!"), "postBuild needs a shebang line"
    assert os.access(post_build, os.X_OK), "postBuild must be executable"
    commands = [line.strip() for line in text.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    installs = [c for c in commands if "pip install" in c]
    assert len(installs) == 1
    words = installs[0].split()
    assert "--no-deps" in words and words[-2:] == ["-e", "."], installs[0]
    assert 'cd "$(dirname "$0")/.."' in commands, "postBuild installs the repository root"


def test_binder_python_is_the_ci_python():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert runtime.startswith("python-")
    tests = yaml.safe_load((ROOT / ".github" / "workflows" / "tests.yml").read_text())
    versions = {step["with"]["python-version"] for job in tests["jobs"].values() for step in job["steps"]
                if step.get("uses", "").startswith("actions/setup-python")}
    assert versions == {runtime.removeprefix("python-")}


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for c in toc["chapters"]]


def test_launch_links_name_the_paired_notebooks():
    """Colab and Binder open ``<path_to_docs>/<page>.ipynb`` (as sphinx_book_theme's launch.py builds it)."""
    from jupyter_book.config import get_final_config

    config, _ = get_final_config(user_yaml=ROOT / "_config.yml", cli_config={"latex_individualpages": False},
                                 sourcedir=ROOT, raise_on_invalid=True)
    theme = config["html_theme_options"]
    relpath = theme.get("path_to_docs", "").strip("/")
    prefix = f"{relpath}/" if relpath else ""
    org_repo = theme["repository_url"].removeprefix("https://github.com/")
    for page in toc_pages():
        path = f"{prefix}{page}.ipynb"
        url = f"https://colab.research.google.com/github/{org_repo}/blob/{theme['repository_branch']}/{path}"
        assert "/./" not in url and "//" not in url.removeprefix("https://"), url
        assert (ROOT / path).is_file(), f"{url} names {path}, which is not in the repository"
