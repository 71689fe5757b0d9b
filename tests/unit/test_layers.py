"""The package's layer rule, checked on its source (see ARCHITECTURE.md).

Layers, bottom to top; a module may import only from its own layer or below:

0. ``config``, ``data``, ``model``            what a run is
1. ``runs``                                   the run directory on disk
2. ``training``                               the step, the loop, CPU settings, signals
3. ``analysis``                               measures of trained models (tensors in, tensors out)
4. ``plotting``                               figures of computed results
5. ``pipeline``, ``sweep``, ``experiments``, ``figures``, ``chapter``, ``cli``   orchestration and entry points

Also: no import cycle at all (within a layer either), no import of the package inside
a function (the usual way to hide a cycle), plotting never imports what runs a model
or reads files, and no module computes a path from its own location (``__file__``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "grokking"

LAYERS = {
    "grokking": 0, "grokking.config": 0, "grokking.data": 0, "grokking.model": 0, "grokking.paper": 0,
    "grokking.runs": 1, "grokking.training": 2, "grokking.analysis": 3, "grokking.plotting": 4,
    "grokking.pipeline": 5, "grokking.sweep": 5, "grokking.experiments": 5, "grokking.figures": 5,
    "grokking.chapter": 5,
    "grokking.cli": 5, "grokking.__main__": 5,
}
# What plotting may not import: anything that runs a model, trains, or reads and writes files.
PLOTTING_FORBIDDEN = ("grokking.runs", "grokking.training", "grokking.analysis.hooks",
                      "grokking.analysis.context", "grokking.analysis.progress", "grokking.analysis.seeds")


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    """The layer of ``module``: that of its longest prefix in LAYERS."""
    if module in LAYERS:
        return LAYERS[module]
    parts = module.split(".")
    for n in range(len(parts) - 1, 1, -1):  # a prefix below the package itself: the bare
        if ".".join(parts[:n]) in LAYERS:   # package name is no catch-all
            return LAYERS[".".join(parts[:n])]
    raise KeyError(f"{module} is in no layer: add it to LAYERS and ARCHITECTURE.md")


def imports_of(path: Path, root: Path, modules: set[str]) -> list[tuple[str, int, bool]]:
    """(imported package module, line, at module level?) for every import of the package in ``path``."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # "from x import y" imports the module x.y when there is one, else x
            targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in modules else stem for a in node.names]
        for target in targets:
            if target == root.name or target.startswith(root.name + "."):
                found.append((target, node.lineno, id(node) in top_level))
    return found


def violations(root: Path) -> list[str]:
    """Every breach of the rule in the package at ``root``, one line each."""
    files = sorted(root.rglob("*.py"))
    modules = {module_name(f, root) for f in files}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    problems = []
    for f in files:
        me = module_name(f, root)
        for target, line, top in imports_of(f, root, modules):
            where = f"{f.relative_to(root.parent)}:{line}"
            if not top:
                problems.append(f"{where}: imports {target} inside a function")
            if layer_of(target) > layer_of(me):
                problems.append(f"{where}: {me} (layer {layer_of(me)}) imports {target} (layer {layer_of(target)})")
            if me.startswith(f"{root.name}.plotting") and target.startswith(PLOTTING_FORBIDDEN):
                problems.append(f"{where}: plotting imports {target}, which runs a model or touches files")
            if target != me and target in graph:
                graph[me].add(target)
        if "__file__" in f.read_text():
            problems.append(f"{f.relative_to(root.parent)}: uses __file__ (paths must be passed in)")
    problems += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules that import each other."""
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_package_keeps_the_layer_rule():
    assert violations(PACKAGE) == []


def test_every_module_is_in_a_layer():
    for f in PACKAGE.rglob("*.py"):
        layer_of(module_name(f, PACKAGE))
    with pytest.raises(KeyError, match="in no layer"):
        layer_of("grokking.somewhere_new")


def _plant(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "grokking"
    for name, text in files.items():
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return pkg


@pytest.mark.parametrize(("files", "expected"), [
    ({"__init__.py": "", "data.py": "from .analysis import x\n", "analysis/__init__.py": "",
      "analysis/x.py": ""}, "grokking.data (layer 0) imports grokking.analysis.x (layer 3)"),
    ({"__init__.py": "", "analysis/__init__.py": "", "analysis/a.py": "from . import b\n",
      "analysis/b.py": "from . import a\n"}, "import cycle: grokking.analysis.a -> grokking.analysis.b"),
    ({"__init__.py": "", "config.py": "def f():\n    from . import data\n", "data.py": ""},
     "imports grokking.data inside a function"),
    ({"__init__.py": "", "plotting/__init__.py": "", "plotting/p.py": "from ..analysis import hooks\n",
      "analysis/__init__.py": "", "analysis/hooks.py": ""}, "plotting imports grokking.analysis.hooks"),
    ({"__init__.py": "", "runs/__init__.py": "", "runs/load.py": "from pathlib import Path\nROOT = Path(__file__)\n"},
     "uses __file__"),
])
def test_the_checker_catches_planted_breaches(tmp_path, files, expected):
    found = violations(_plant(tmp_path, files))
    assert any(expected in v for v in found), found


def test_a_clean_planted_package_passes(tmp_path):
    pkg = _plant(tmp_path, {"__init__.py": "", "config.py": "", "data.py": "from .config import x\n",
                            "analysis/__init__.py": "", "analysis/a.py": "from ..data import y\nfrom . import b\n",
                            "analysis/b.py": "import torch\n"})
    assert violations(pkg) == []
