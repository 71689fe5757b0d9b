"""Every chapter's notebook runs as a reader's would in a fresh Colab session (slow: make test-fresh).

The repository's HEAD is cloned into a temporary folder. A new virtual
environment gets only what Colab already has (torch, numpy, scipy, matplotlib,
pandas, ipykernel, nbclient, nbformat, tqdm, at this project's pins) and a
kernelspec of its own. Each ``book/*.ipynb`` that ``_toc.yml`` lists is then
executed with nbclient in that kernel, from an empty working folder outside the
clone, with ``grokking`` not importable and ``GROKKING_REPO`` pointing at the
clone (a ``file://`` URL): the notebook's first cell must clone and install the
package and its dependencies itself, exactly as it does in Colab. The cell clones
the release tag ``v<version>``; the clone gets that tag on its HEAD (moved there if
this repository already has one), so the cell's own default ref is what is tested.

pip uses the machine's own configuration; where torch==2.13.0 would come from
PyPI (a multi-GB CUDA build), set ``PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu``
as the workflows do.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]  # tests/site/ -> the repository
KERNEL = "grokking-fresh"
# What a Colab runtime has before the setup cell runs (pinned as in requirements.txt).
COLAB_PACKAGES = ["torch", "numpy", "scipy", "matplotlib", "pandas",
                  "ipykernel", "nbclient", "nbformat", "tqdm"]
SETUP_MARK = "# Setup for Colab / Binder"
CELL_TIMEOUT = 1200  # seconds; the setup cell's pip install is the slow one


def head_toc_pages() -> list[str]:
    """The pages ``_toc.yml`` lists at HEAD (what the clone will hold)."""
    try:
        text = subprocess.run(["git", "show", "HEAD:_toc.yml"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        text = (ROOT / "_toc.yml").read_text()
    toc = yaml.safe_load(text)
    return [toc["root"]] + [c["file"] for c in toc["chapters"]]


def pins(requirements: Path, names: list[str]) -> list[str]:
    """``name==version`` for each of ``names``, as pinned in ``requirements``."""
    found = {}
    for raw in requirements.read_text().splitlines():
        line = raw.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[name.strip().lower().replace("_", "-")] = version.strip()
    missing = [n for n in names if n not in found]
    assert not missing, f"{requirements} does not pin {missing}"
    return [f"{n}=={found[n]}" for n in names]


def clean_env(venv: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh session: the venv first on PATH, nothing that points at this checkout."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "JUPYTER_PATH", "GROKKING_REPO", "GROKKING_REF",
                        "GROKKING_RUNS")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{output}"
    return result


def package_version(clone: Path) -> str:
    """``grokking.__version__`` as the clone's source sets it."""
    for node in ast.parse((clone / "grokking" / "__init__.py").read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__version__"]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{clone} sets no grokking.__version__")


def make_clone(dest: Path) -> Path:
    """A clone of this repository at its current HEAD commit, with the release tag the setup cell clones on it."""
    head = run(["git", "rev-parse", "HEAD"], cwd=ROOT).stdout.strip()
    run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(dest)])
    run(["git", "checkout", "--quiet", "--detach", head], cwd=dest)
    tag = f"v{package_version(dest)}"  # what the committed cells clone (tools/pair_chapters.py)
    run(["git", "-c", "user.name=test", "-c", "user.email=test@localhost", "tag", "--force", "--annotate",
         "--message", "release (test)", tag, head], cwd=dest)
    return dest


def make_venv(venv: Path, requirements: Path) -> Path:
    """A new venv with only the Colab packages, and a kernelspec ``KERNEL`` inside it."""
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    env = clean_env(venv)
    packages = pins(requirements, COLAB_PACKAGES)
    run([str(python), "-m", "pip", "install", "--quiet", *packages], env=env, timeout=1800)
    run([str(python), "-m", "ipykernel", "install", "--prefix", str(venv), "--name", KERNEL,
         "--display-name", "Python 3 (fresh, Colab-like)"], env=env)
    return venv


def grokking_location(venv: Path, cwd: Path) -> str | None:
    """Where the venv's python, started in ``cwd``, would import ``grokking`` from (None: not importable)."""
    code = "import importlib.util as u; s = u.find_spec('grokking'); print(s.origin if s else '')"
    out = run([str(venv / "bin" / "python"), "-c", code], cwd=cwd, env=clean_env(venv)).stdout.strip()
    return out or None


def run_notebook(nb: nbformat.NotebookNode, venv: Path, workdir: Path, repo: str) -> nbformat.NotebookNode:
    """Execute ``nb`` in the venv's kernel, started in ``workdir`` with ``GROKKING_REPO=repo``."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    specs = KernelSpecManager(kernel_dirs=[str(venv / "share" / "jupyter" / "kernels")])
    km = KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    assert Path(km.kernel_spec.argv[0]).parent == venv / "bin", km.kernel_spec.argv
    client = NotebookClient(nb, km=km, kernel_name=KERNEL, timeout=CELL_TIMEOUT, allow_errors=False,
                            resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute(env=clean_env(venv, GROKKING_REPO=repo))
    finally:  # nbclient leaves a kernel it did not start itself running
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    return nb


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """(clone of HEAD, fresh venv with the Colab packages and its kernelspec)."""
    base = tmp_path_factory.mktemp("fresh")
    clone = make_clone(base / "repo")
    venv = make_venv(base / "venv", clone / "requirements.txt")
    return clone, venv


@pytest.mark.parametrize("page", head_toc_pages(), ids=lambda page: Path(page).name)
def test_notebook_runs_in_a_fresh_colab_like_environment(page, fresh, tmp_path):
    from nbclient.exceptions import CellExecutionError

    clone, venv = fresh
    path = clone / f"{page}.ipynb"
    assert path.is_file(), f"{page}.ipynb is not committed: run `make pair` and commit"
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    if not first.source.startswith(SETUP_MARK):
        pytest.fail(f"{path.name}: the first code cell is not the setup cell: run `make pair`", pytrace=False)
    tag = f"v{package_version(clone)}"
    if "GROKKING_REPO" not in first.source or f'"GROKKING_REF", "{tag}"' not in first.source:
        pytest.fail(f"{path.name}: the setup cell does not clone {tag} (or predates GROKKING_REPO): "
                    "run `make pair` and commit", pytrace=False)

    # Each notebook starts as a new Colab session would: no grokking anywhere.
    run([str(venv / "bin" / "python"), "-m", "pip", "uninstall", "--quiet", "--yes", "grokking"],
        env=clean_env(venv))
    workdir = tmp_path / "session"
    workdir.mkdir()
    assert grokking_location(venv, workdir) is None, "grokking is importable before the setup cell ran"

    try:
        # A file:// URL, so that the cell's `git clone --depth 1` is shallow, as from GitHub.
        run_notebook(nb, venv, workdir, clone.as_uri())
    except CellExecutionError as err:
        pytest.fail(f"{path.name} failed in a fresh environment:\n{str(err)[-4000:]}", pytrace=False)

    # The setup cell installed the package from its own clone, beside the notebook.
    origin = grokking_location(venv, workdir)
    assert origin is not None and Path(origin).is_relative_to(workdir / "grokking-book"), origin
