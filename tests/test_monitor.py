"""The generated project's monitoring: its module, run in a rendered project, and its jobs.

The project is rendered with ``framework=none`` (a plain-Python model), so its modules
run on this interpreter with ``PYTHONPATH=src`` and nothing to install. The pipelines'
monitoring jobs are read as YAML: which model they fetch, where the data comes from, and
that only the issue-posting step holds write access. tests/test_e2e_monitor.py runs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import MadeOnce, trained_project

REHEARSAL = "rehearsal: no data source configured (set MONITOR_DATA_URL)"
PACKAGE = "demo_model"
PINNED_DOWNLOAD = "actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c"


def python(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run this interpreter in ``project`` with its ``src`` importable and no data source set."""
    base = {k: v for k, v in os.environ.items() if k not in ("MONITOR_DATA_URL", "PYTHONPATH")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env={**base, "PYTHONPATH": str(project / "src"), **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def new_data(project: Path, path: Path, shift: float) -> Path:
    """300 fresh unlabelled rows from the project's own generator, shifted by ``shift`` sd."""
    code = (
        f"from pathlib import Path; from {PACKAGE}.data import make_sample, write_csv; "
        f"write_csv(make_sample(300, seed=7, drift={shift}), Path({str(path)!r}))"
    )
    assert python(project, "-c", code).returncode == 0
    rows = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(",".join(r.split(",")[:4]) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def trained(made_once: MadeOnce, tmp_path: Path) -> Path:
    """A rendered project (both providers) whose artifacts/ holds what CI publishes.

    Each test gets its own copy of a project rendered and trained once.
    """
    return trained_project(made_once, tmp_path / "demo-model", ci_provider="both", framework="none")


def monitor(project: Path, source: str | None) -> subprocess.CompletedProcess[str]:
    env = {} if source is None else {"MONITOR_DATA_URL": source}
    return python(project, "-m", f"{PACKAGE}.monitor", "--out", "monitoring", env=env)


def test_training_publishes_reference_statistics_of_every_feature(trained: Path) -> None:
    reference = json.loads((trained / "artifacts" / "reference.json").read_text())
    assert reference["method"] == "psi"
    assert set(reference["features"]) == {"temperature", "pressure", "vibration", "humidity"}


def test_shifted_data_is_drift_with_report_chart_and_issue_payload(
    trained: Path, tmp_path: Path
) -> None:
    done = monitor(trained, str(new_data(trained, tmp_path / "new.csv", shift=1.0)))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "error: model degraded" in done.stderr
    out = trained / "monitoring"
    assert "**Status: degraded**" in (out / "report.md").read_text()
    assert json.loads((out / "metrics.json").read_text())["drift"]["temperature"] > 0.25
    svg = ET.fromstring((out / "drift.svg").read_text())
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    issue = json.loads((out / "issue.json").read_text())
    assert issue["labels"] == "model-degradation"
    assert "temperature drifted" in issue["description"]


def test_unshifted_data_is_healthy_and_writes_no_issue(trained: Path, tmp_path: Path) -> None:
    done = monitor(trained, new_data(trained, tmp_path / "new.csv", shift=0.0).as_uri())
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("model healthy: no drift on 300 rows")
    assert not (trained / "monitoring" / "issue.json").exists()


def test_no_source_is_a_rehearsal_in_the_first_line_and_the_report(trained: Path) -> None:
    done = monitor(trained, None)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == REHEARSAL
    report = (trained / "monitoring" / "report.md").read_text()
    assert report.splitlines()[0] == REHEARSAL
    assert "healthy" not in report
    assert "healthy" not in done.stdout
    assert not (trained / "monitoring" / "issue.json").exists()


def test_no_published_model_fails_and_trains_none(
    render: Callable[..., Path], tmp_path: Path
) -> None:
    project = render(framework="none")
    done = monitor(project, str(new_data(project, tmp_path / "new.csv", shift=0.0)))
    assert done.returncode == 2
    assert "no published model: artifacts/model.json does not exist" in done.stderr
    assert not (project / "artifacts").exists()


def test_github_monitor_downloads_the_published_model_with_least_privilege(
    render: Callable[..., Path],
) -> None:
    project = render(framework="none", ci_provider="github")
    workflow = yaml.safe_load((project / ".github/workflows/monitor.yml").read_text())
    assert workflow["permissions"] == {}
    monitor_job, report_job = workflow["jobs"]["monitor"], workflow["jobs"]["report"]
    assert monitor_job["permissions"] == {"contents": "read", "actions": "read"}
    assert report_job["permissions"] == {"issues": "write"}
    steps = {step["name"]: step for step in monitor_job["steps"]}
    find = steps["Find the published model"]["run"]
    assert 'gh run list --workflow ci.yml --branch "$branch" --status success' in find
    download = steps["Download the published model"]
    assert download["uses"] == PINNED_DOWNLOAD
    assert download["with"]["name"] == "artifacts"
    assert download["with"]["run-id"] == "${{ steps.published.outputs.run-id }}"
    run = steps["Monitor the published model on the newest data"]
    assert run["env"]["MONITOR_DATA_URL"] == "${{ vars.MONITOR_DATA_URL }}"
    # It never trains a model of its own.
    assert f"{PACKAGE}.train" not in yaml.safe_dump(workflow)


def test_gitlab_monitor_fetches_the_default_branch_model_and_scopes_the_issue_token(
    render: Callable[..., Path],
) -> None:
    project = render(framework="none", ci_provider="gitlab")
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    job = pipeline["monitor"]
    script = "\n".join(job["script"])
    assert "jobs/artifacts/$CI_DEFAULT_BRANCH/download?job=train" in script
    assert "JOB-TOKEN: $CI_JOB_TOKEN" in script
    assert "PRIVATE-TOKEN: $MLRIG_ISSUE_TOKEN" in script
    assert job["environment"] == {"name": "monitoring", "action": "access"}
    others = {name: body for name, body in pipeline.items() if name != "monitor"}
    assert "MLRIG_ISSUE_TOKEN" not in yaml.safe_dump(others)
