"""The quality-and-cost gate and its verdict on the pull/merge request, as rendered.

A starter project without an ML framework (its code needs only the standard library)
is rendered, trained for real, and its evaluate.py and mr_note.py are run as the
pipeline runs them; the GitLab API is the stand-in of tests/fakegitlab.py. The
pipeline files are read for what decides who may write: the GitHub comment job alone
can comment, and never for forks.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import MadeOnce, trained_project
from tests.fakegitlab import MR_IID, PROJECT_ID, TARGET_BRANCH, fake_gitlab

PACKAGE = "demo_model"
MARKER = "<!-- mlrig-model-gate -->"
TOKEN = "glpat-test-token"


def run_module(
    project: Path, module: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m demo_model.<module> ARGS`` in ``project``, as the pipeline runs it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CI_", "MLRIG_"))}
    return subprocess.run(
        [sys.executable, "-m", f"{PACKAGE}.{module}", *args],
        cwd=project,
        env={**base, "PYTHONPATH": "src", **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def trained(made_once: MadeOnce, tmp_path: Path) -> Path:
    """A rendered GitLab-and-GitHub project, trained: artifacts/metrics.json exists.

    Each test gets its own copy of a project rendered and trained once.
    """
    return trained_project(made_once, tmp_path / "demo-model", ci_provider="both", framework="none")


def edit_json(path: Path, **changes: float) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")
    return data


def gate(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_module(
        project,
        "evaluate",
        *("--metrics", "artifacts/metrics.json", "--baseline", "metrics/baseline.json", *args),
    )


# --- Cost recording and the gate ----------------------------------------------------


def test_training_records_its_costs_beside_the_metrics(trained: Path) -> None:
    metrics = json.loads((trained / "artifacts/metrics.json").read_text(encoding="utf-8"))
    assert metrics["accuracy"] > 0.85
    assert 0 < metrics["train_seconds"] < 60
    # ru_maxrss of a Python process: at least the interpreter's few MB.
    assert 5 < metrics["peak_memory_mb"] < 4096
    model = trained / "artifacts/model.json"
    assert metrics["model_kb"] == round(model.stat().st_size / 1024, 1)


def test_peak_memory_is_the_training_process_own_even_when_a_large_process_starts_it(
    trained: Path,
) -> None:
    """A parent holding 256 MB starts training; Python and the starter need about 15 MB.

    (ru_maxrss would report the parent's 256 MB: Linux carries it across fork and exec.)
    """
    parent = (
        "import subprocess, sys\n"
        "held = bytearray(256 * 1024 * 1024)\n"
        "held[::4096] = b'x' * len(held[::4096])\n"
        "sys.exit(subprocess.run([sys.executable, '-m', 'demo_model.train']).returncode)\n"
    )
    env = {**os.environ, "PYTHONPATH": "src"}
    result = subprocess.run(
        [sys.executable, "-c", parent], cwd=trained, env=env, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((trained / "artifacts/metrics.json").read_text(encoding="utf-8"))
    assert metrics["peak_memory_mb"] < 100


def test_the_committed_baseline_passes_and_shows_quality_and_cost_side_by_side(
    trained: Path,
) -> None:
    result = gate(trained)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split(" | ")[0].strip("| ") for line in result.stdout.splitlines()[2:7]]
    assert rows == ["accuracy", "f1", "train_seconds", "peak_memory_mb", "model_kb"]
    assert "| accuracy | 0.9300 | 0.9300 | 0.8000 | pass |" in result.stdout
    assert re.search(
        r"^\| train_seconds \| [\d.]+ s \| 0\.01 s \| max 5\.01 s \| pass \|$",
        result.stdout,
        re.MULTILINE,
    ), result.stdout
    assert result.stdout.endswith("\nGate passed.\n")


def test_a_change_that_fails_on_cost_alone_fails_the_gate(trained: Path) -> None:
    """Same accuracy, but training now takes 30 s instead of about 0.01 s."""
    edit_json(trained / "artifacts/metrics.json", train_seconds=30.0)
    result = gate(trained)
    assert result.returncode == 1
    assert "| accuracy | 0.9300 | 0.9300 | 0.8000 | pass |" in result.stdout
    assert "| train_seconds | 30 s | 0.01 s | max 5.01 s | FAIL |" in result.stdout
    assert result.stderr.splitlines() == [
        "error: model gate failed: train_seconds 30 s exceeds the limit 5.01 s set by the "
        "baseline 0.01 s (at most 1.5x, or 5 s more)"
    ]


def test_a_cost_above_its_ceiling_fails_even_against_an_equal_baseline(trained: Path) -> None:
    edit_json(trained / "artifacts/metrics.json", model_kb=200000.0)
    edit_json(trained / "metrics/baseline.json", model_kb=200000.0)
    result = gate(trained)
    assert result.returncode == 1
    assert "model_kb 200000 KB is above the budget 102400 KB" in result.stderr


def test_an_old_baseline_without_costs_gates_only_the_ceilings(trained: Path) -> None:
    path = trained / "metrics/baseline.json"
    baseline = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({k: baseline[k] for k in ("accuracy", "f1")}), encoding="utf-8")
    edit_json(trained / "artifacts/metrics.json", train_seconds=30.0)
    result = gate(trained)
    assert result.returncode == 0, result.stderr
    assert "| train_seconds | 30 s | - | max 600 s | pass |" in result.stdout


# --- The comment body ---------------------------------------------------------------


def test_the_comment_compares_with_the_target_branch_and_carries_the_marker(
    trained: Path, tmp_path: Path
) -> None:
    """The change fails on cost against the target's baseline, and so does the gate."""
    edit_json(trained / "artifacts/metrics.json", train_seconds=30.0)
    target = tmp_path / "target-baseline.json"
    target.write_bytes((trained / "metrics/baseline.json").read_bytes())
    comment = trained / "artifacts/comment.md"
    result = gate(trained, "--comment", str(comment), "--target-baseline", str(target))
    assert result.returncode == 1
    lines = comment.read_text(encoding="utf-8").splitlines()
    assert lines[0] == MARKER
    assert lines[1] == "## Model gate failed ❌"
    assert "Quality and cost of this change against the target branch's baseline:" in lines
    assert "| train_seconds | 30 s | 0.01 s | max 5.01 s | FAIL |" in lines
    chart = lines[lines.index("```text") + 1 : lines.index("```", lines.index("```text") + 1)]
    assert chart[0].startswith("accuracy        change   ████")
    assert chart[1].startswith("                baseline ████")
    assert any(line.startswith("train_seconds   change   " + "█" * 24) for line in chart)
    assert lines[-1].startswith("Gate failed: train_seconds 30 s exceeds the limit")


def test_the_comment_says_when_the_change_updates_its_own_baseline(
    trained: Path, tmp_path: Path
) -> None:
    """The gate passes against the change's new baseline; the table shows the target's."""
    metrics = edit_json(trained / "artifacts/metrics.json", train_seconds=30.0)
    (trained / "metrics/baseline.json").write_text(json.dumps(metrics), encoding="utf-8")
    target = tmp_path / "target-baseline.json"
    target.write_text(json.dumps({**metrics, "train_seconds": 0.01}), encoding="utf-8")
    comment = tmp_path / "comment.md"
    assert (
        gate(trained, "--comment", str(comment), "--target-baseline", str(target)).returncode == 0
    )
    body = comment.read_text(encoding="utf-8")
    assert "## Model gate passed ✅" in body
    assert "| train_seconds | 30 s | 0.01 s | max 5.01 s | FAIL |" in body
    assert body.endswith(
        "This change adds or updates the committed baseline; the gate compares with it. "
        "Gate passed.\n"
    )


def test_the_comment_says_when_the_target_branch_has_no_baseline(
    trained: Path, tmp_path: Path
) -> None:
    comment = tmp_path / "comment.md"
    missing = tmp_path / "none.json"
    assert (
        gate(trained, "--comment", str(comment), "--target-baseline", str(missing)).returncode == 0
    )
    body = comment.read_text(encoding="utf-8")
    assert "CI found no baseline on the target branch: the figures stand alone." in body
    assert "| accuracy | 0.9300 | - | 0.8000 | pass |" in body


# --- The merge request note (GitLab) --------------------------------------------------


def mr_env(api: str) -> dict[str, str]:
    return {
        "CI_API_V4_URL": api,
        "CI_PROJECT_ID": PROJECT_ID,
        "CI_MERGE_REQUEST_IID": MR_IID,
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": TARGET_BRANCH,
        "MLRIG_NOTE_TOKEN": TOKEN,
    }


def test_the_note_is_posted_once_and_updated_on_the_next_push(trained: Path) -> None:
    baseline = (trained / "metrics/baseline.json").read_text(encoding="utf-8")
    with fake_gitlab(target_baseline=baseline) as gitlab:
        gitlab.notes.append({"id": 5, "body": "LGTM"})
        first = run_module(trained, "mr_note", env=mr_env(gitlab.api))
        assert first.returncode == 0, first.stderr
        assert f"posted the verdict on merge request !{MR_IID}" in first.stdout
        edit_json(trained / "artifacts/metrics.json", train_seconds=30.0)
        second = run_module(trained, "mr_note", env=mr_env(gitlab.api))
        assert second.returncode == 0, second.stderr
        assert f"updated the verdict note 101 on merge request !{MR_IID}" in second.stdout
    assert [n["body"].splitlines()[0] for n in gitlab.notes] == ["LGTM", MARKER]
    assert "## Model gate failed ❌" in gitlab.notes[1]["body"]
    assert "| train_seconds | 30 s | 0.01 s | max 5.01 s | FAIL |" in gitlab.notes[1]["body"]
    assert {r.token for r in gitlab.requests} == {TOKEN}
    writes = [r.method for r in gitlab.requests if r.method != "GET"]
    assert writes == ["POST", "PUT"]
    assert (trained / "artifacts/comment.md").read_text(encoding="utf-8") == gitlab.notes[1]["body"]


def test_the_projects_own_code_never_sees_the_note_token(trained: Path) -> None:
    """evaluate.py (the merge request's code) records the token it sees: none."""
    evaluate = trained / f"src/{PACKAGE}/evaluate.py"
    spy = trained / "seen-token.txt"
    evaluate.write_text(
        "import os, pathlib\n"
        f"pathlib.Path({str(spy)!r}).write_text(os.environ.get('MLRIG_NOTE_TOKEN', 'none'))\n"
        + evaluate.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    with fake_gitlab() as gitlab:
        result = run_module(trained, "mr_note", env=mr_env(gitlab.api))
    assert result.returncode == 0, result.stderr
    assert spy.read_text(encoding="utf-8") == "none"
    # The control: the job itself had the token, and used it.
    assert {r.token for r in gitlab.requests} == {TOKEN}
    assert "the target branch main has no metrics/baseline.json" in result.stdout


def test_the_note_job_without_a_token_says_how_to_create_one(trained: Path) -> None:
    with fake_gitlab() as gitlab:
        env = {**mr_env(gitlab.api), "MLRIG_NOTE_TOKEN": ""}
        result = run_module(trained, "mr_note", env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: the CI/CD variable MLRIG_NOTE_TOKEN is not set: create a project access token "
        "(role Reporter, scope api) and store it as a masked variable of that name, "
        "environment scope mr-note (see README.md)"
    ]
    assert gitlab.requests == []


def test_a_failed_api_call_is_reported_without_a_traceback(trained: Path) -> None:
    with fake_gitlab() as gitlab:
        env = {**mr_env(gitlab.api), "CI_PROJECT_ID": "999"}
        result = run_module(trained, "mr_note", env=env)
    assert result.returncode == 1
    assert "error: the GitLab API call" in result.stderr
    assert "Traceback" not in result.stderr


# --- Who may write --------------------------------------------------------------------


def workflow_jobs(project: Path) -> dict[str, Any]:
    data = yaml.safe_load((project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    jobs: dict[str, Any] = data["jobs"]
    return jobs


def test_only_the_comment_job_may_comment_and_never_for_forks(
    render: Callable[..., Path],
) -> None:
    jobs = workflow_jobs(render(ci_provider="github", docker=False))
    comment = jobs["comment"]
    assert comment["permissions"] == {"pull-requests": "write"}
    assert comment["needs"] == ["train"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]
    assert not any(
        step["uses"].startswith("actions/checkout@") for step in comment["steps"] if "uses" in step
    )
    others = {name: job["permissions"] for name, job in jobs.items() if name != "comment"}
    assert all(perms == {"contents": "read"} for perms in others.values()), others
    for job in jobs.values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step


def test_the_note_job_runs_only_in_merge_request_pipelines_with_its_scoped_token(
    render: Callable[..., Path],
) -> None:
    project = render(ci_provider="gitlab")
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    note = pipeline["mr-note"]
    assert note["rules"] == [
        {"if": '$CI_PIPELINE_SOURCE == "merge_request_event"', "when": "always"}
    ]
    assert note["environment"] == {"name": "mr-note", "action": "access"}
    assert note["needs"] == [{"job": "train", "artifacts": True}]


@pytest.mark.parametrize(
    "given",
    [
        {"ci_provider": "both", "evaluate_command": "none"},
        {"ci_provider": "both", "evaluate_command": "python -m demo_model.evaluate"},
    ],
    ids=["no-gate", "own-evaluate-command"],
)
def test_no_verdict_job_without_the_starters_gate(
    render: Callable[..., Path], given: dict[str, str]
) -> None:
    project = render(**given)
    assert "comment" not in workflow_jobs(project)
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    assert "mr-note" not in pipeline


# --- The gate of an adopted repository (.mlrig/gate.py) -------------------------------


@pytest.fixture
def adopted_gate(render: Callable[..., Path]) -> Path:
    """The .mlrig/gate.py mlrig writes into a repository it did not create."""
    project = render(
        existing_repo=True,
        ci_provider="github",
        install_command="none",
        lint_command="none",
        test_command="none",
        data_command="none",
        train_command="python train.py",
        metrics_file="reports/metrics.json",
        monitoring_schedule="none",
    )
    return project / ".mlrig/gate.py"


def run_adopted_gate(
    gate_file: Path, metrics: dict[str, float], baseline: dict[str, float]
) -> subprocess.CompletedProcess[str]:
    folder = gate_file.parent
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    (folder / "baseline.json").write_text(json.dumps(baseline), encoding="utf-8")
    argv = ["--metrics", str(folder / "metrics.json"), "--metric", "accuracy"]
    argv += ["--threshold", "0.8", "--baseline", str(folder / "baseline.json")]
    return subprocess.run(
        [sys.executable, "-I", str(gate_file), *argv],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_adopted_gate_fails_on_cost_alone_when_the_repository_records_costs(
    adopted_gate: Path,
) -> None:
    same = {"accuracy": 0.93, "model_kb": 2.0}
    result = run_adopted_gate(
        adopted_gate, {**same, "train_seconds": 30.0}, {**same, "train_seconds": 0.5}
    )
    assert result.returncode == 1
    assert "| accuracy | 0.9300 | 0.9300 | 0.8000 | pass |" in result.stdout
    assert "| train_seconds | 30 s | 0.5 s | max 5.5 s | FAIL |" in result.stdout
    assert "| model_kb | 2 KB | 2 KB | max 66 KB | pass |" in result.stdout
    assert result.stderr.splitlines() == [
        "error: model gate failed: train_seconds 30 s exceeds the limit 5.5 s set by the "
        "baseline 0.5 s (at most 1.5x, or 5 s more)"
    ]


def test_the_adopted_gate_ignores_costs_the_baseline_does_not_record(adopted_gate: Path) -> None:
    result = run_adopted_gate(
        adopted_gate, {"accuracy": 0.93, "train_seconds": 30.0}, {"accuracy": 0.93}
    )
    assert result.returncode == 0, result.stderr
    assert "| train_seconds | 30 s | - | - | pass |" in result.stdout
