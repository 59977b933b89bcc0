"""End-to-end: the quality-and-cost gate and its verdict on the pull/merge request.

A change that keeps the model's quality but makes training slow (a ``time.sleep(6)``
in ``fit``: 6 s against the baseline's 0.01 s, beyond the 1.5x ratio and the 5 s slack
of config.py) is proposed on each provider:

- GitHub, with act (tests/test_e2e_github.py's runner) for a ``pull_request`` event:
  the train job fails at the gate on cost alone, and the separate ``comment`` job posts
  the verdict. Its ``gh api`` calls go to the offline stand-in tests/act_stubs/gh-cli/gh
  (first on PATH), which keeps the pull request's comments in a JSON file and applies
  the workflow's ``--jq`` filter with the real jq. Probes of the comment job alone (the
  rendered job without its ``needs``, the verdict artifact put in place) show that the
  next push updates the bot's comment rather than adding one, that a pull request from
  a fork never reaches the job's steps, and that no verdict means no call.
- GitLab, with gitlab-ci-local (tests/test_e2e_gitlab.py's runner) as a merge request
  pipeline: the train job fails on cost alone and the ``mr-note`` job posts the note
  to the stand-in GitLab API of tests/fakegitlab.py, which CI_API_V4_URL points at.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakegitlab import MR_IID, PROJECT_ID, TARGET_BRANCH, fake_gitlab
from tests.templaterepo import git
from tests.test_e2e_github import STUBS, WORKFLOW, ActRun, generate, run_act, runner_env
from tests.test_e2e_gitlab import (
    GITLAB_CI_LOCAL,
    GitlabCiLocal,
    generate_project,
    jobs_venv,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PACKAGE = "demo_model"
MARKER = "<!-- mlrig-model-gate -->"
REPOSITORY = "acme/demo-model"
#: The gate's reason, and its table row, for the slow change (framework none).
COST_REASON = re.compile(
    r"train_seconds 6\.\d+ s exceeds the limit 5\.01 s set by the baseline 0\.01 s "
    r"\(at most 1\.5x, or 5 s more\)"
)
COST_ROW = re.compile(r"^\| train_seconds \| 6\.\d+ s \| 0\.01 s \| max 5\.01 s \| FAIL \|$", re.M)
QUALITY_ROW = "| accuracy | 0.9300 | 0.9300 | 0.8000 | pass |"


def slow_training(project: Path) -> None:
    """Commit a change that keeps the model and makes its training take 6 s longer."""
    path = project / f"src/{PACKAGE}/train.py"
    text = path.read_text(encoding="utf-8")
    old = '    """Compute the feature scaling and the centroid of each class."""\n'
    assert text.count(old) == 1
    path.write_text(text.replace(old, old + "    time.sleep(6)\n"), encoding="utf-8")
    git(project, "commit", "--quiet", "--all", "--message", "Train more carefully")


# --- GitHub ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def package_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uv and pip caches of the session's e2e runs (see tests/test_e2e_github.py)."""
    root = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        root = root.parent
    cache = root / "e2e-package-cache"
    cache.mkdir(exist_ok=True)
    return cache


def pull_request(head_repository: str = REPOSITORY) -> dict[str, Any]:
    """The payload of a pull request event from ``head_repository`` into main."""
    return {
        "action": "synchronize",
        "number": 3,
        "pull_request": {
            "number": 3,
            "head": {"ref": "feature", "repo": {"full_name": head_repository}},
            "base": {"ref": "main", "repo": {"full_name": REPOSITORY}},
        },
        "repository": {"full_name": REPOSITORY, "default_branch": "main"},
    }


def gh_env(tmp_path: Path, comments: list[dict[str, Any]]) -> tuple[dict[str, str], Path]:
    """The runner environment with the gh stand-in first on PATH, and its state file."""
    state = tmp_path / "gh-state.json"
    state.write_text(json.dumps({"comments": comments, "calls": []}), encoding="utf-8")
    path = runner_env(tmp_path, tmp_path)["PATH"]
    env = {"PATH": f"{STUBS / 'gh-cli'}{os.pathsep}{path}", "MLRIG_E2E_GH_STATE": str(state)}
    return env, state


def github_project(dest: Path) -> Path:
    """A GitHub project (no ML framework) whose origin is the GitHub repository.

    act takes ``github.repository`` from the origin's URL.
    """
    project = generate(dest, framework="none")
    git(project, "remote", "add", "origin", f"https://github.com/{REPOSITORY}.git")
    # act reads secrets from .secrets in its working directory: the workflow's token.
    (project / ".secrets").write_text("GITHUB_TOKEN=ghs_e2e\n", encoding="utf-8")
    return project


def test_github_pull_request_fails_on_cost_alone_and_gets_the_verdict_comment(
    package_cache: Path, tmp_path: Path
) -> None:
    project = github_project(tmp_path / "demo-model")
    git(project, "checkout", "--quiet", "-b", "feature")
    slow_training(project)
    env, state_file = gh_env(tmp_path, [{"id": 1, "user": {"login": "alice"}, "body": "LGTM"}])
    run = run_act(
        project,
        "comment",
        tmp_path / "act",
        package_cache,
        event="pull_request",
        payload=pull_request(),
        env=env,
    )
    run.check(
        run.job_results == {"data": "success", "train": "failure", "comment": "success"},
        f"unexpected job results {run.job_results}",
    )
    run.check(run.step_result("train", "Verdict for the pull request") == "success", "no verdict")
    failed = [s.name for s in run.steps("train") if s.result == "failure"]
    run.check(failed == ["Metric gate"], f"train must fail at the gate only, failed: {failed}")
    gate = run.output("train", "Metric gate")
    run.check(QUALITY_ROW in gate and COST_ROW.search(gate) is not None, "no side-by-side table")
    run.check(COST_REASON.search(gate) is not None, "the gate does not name the cost")

    state = json.loads(state_file.read_text(encoding="utf-8"))
    calls = [(call["method"], call["path"]) for call in state["calls"]]
    comments_path = f"repos/{REPOSITORY}/issues/3/comments"
    assert calls == [("GET", comments_path), ("POST", comments_path)], calls
    assert {call["token"] for call in state["calls"]} == {"ghs_e2e"}
    body = state["comments"][1]["body"]
    assert body.splitlines()[:2] == [MARKER, "## Model gate failed ❌"]
    # Against main's baseline, which the train job read from the merge commit's parent.
    assert "Quality and cost of this change against the target branch's baseline:" in body
    assert QUALITY_ROW in body, body
    assert COST_ROW.search(body), body
    assert "```text\naccuracy        change   ████" in body
    assert COST_REASON.search(body.splitlines()[-1]), body
    # The payload the comment job consumed is the train job's artifact.
    assert (run.artifacts / "artifacts" / "comment.md").read_text(encoding="utf-8") == body
    run.check("posted the verdict comment" in run.output("comment"), "no confirmation")


def comment_probe(project: Path, tmp_path: Path) -> Path:
    """The rendered comment job alone (no ``needs``), as a workflow file."""
    ci = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    job = {key: value for key, value in ci["jobs"]["comment"].items() if key != "needs"}
    path = tmp_path / "workflows" / "comment.yml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump({"on": "pull_request", "jobs": {"comment": job}}), "utf-8")
    return path


def run_probe(
    project: Path,
    tmp_path: Path,
    cache: Path,
    comments: list[dict[str, Any]],
    verdict: str | None,
    head_repository: str = REPOSITORY,
) -> tuple[ActRun, dict[str, Any]]:
    """Run the comment job alone with ``verdict`` as the train job's comment.md."""
    workdir = tmp_path / "act"
    if verdict is not None:
        (workdir / "artifacts" / "artifacts").mkdir(parents=True)
        (workdir / "artifacts" / "artifacts" / "comment.md").write_text(verdict, "utf-8")
    env, state_file = gh_env(tmp_path, comments)
    workflow = comment_probe(project, tmp_path)
    payload = pull_request(head_repository)
    run = run_act(
        project, None, workdir, cache, workflow, event="pull_request", payload=payload, env=env
    )
    return run, json.loads(state_file.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def probe_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return github_project(tmp_path_factory.mktemp("probe") / "demo-model")


def test_github_next_push_updates_the_bots_comment_found_by_its_marker(
    probe_project: Path, package_cache: Path, tmp_path: Path
) -> None:
    quoted = {"id": 7, "user": {"login": "alice"}, "body": f"{MARKER} quoted by a person"}
    ours = {"id": 8, "user": {"login": "github-actions[bot]"}, "body": f"{MARKER}\nold"}
    verdict = f"{MARKER}\n## Model gate passed ✅\n"
    run, state = run_probe(probe_project, tmp_path, package_cache, [quoted, ours], verdict)
    run.check(run.job_results == {"comment": "success"}, "the comment job failed")
    assert [(c["method"], c["path"]) for c in state["calls"]] == [
        ("GET", f"repos/{REPOSITORY}/issues/3/comments"),
        ("PATCH", f"repos/{REPOSITORY}/issues/comments/8"),
    ]
    assert [c["body"] for c in state["comments"]] == [quoted["body"], verdict]


def test_github_comment_job_never_runs_for_a_fork(
    probe_project: Path, package_cache: Path, tmp_path: Path
) -> None:
    verdict = f"{MARKER}\n## Model gate passed ✅\n"
    run, state = run_probe(
        probe_project, tmp_path, package_cache, [], verdict, head_repository="mallory/demo-model"
    )
    run.check(not run.steps("comment"), "the comment job ran steps for a fork")
    assert state["calls"] == []


def test_github_without_a_verdict_the_comment_job_posts_nothing(
    probe_project: Path, package_cache: Path, tmp_path: Path
) -> None:
    run, state = run_probe(probe_project, tmp_path, package_cache, [], None)
    run.check(run.job_results == {"comment": "success"}, "the comment job failed")
    run.check(
        "no verdict to post: training failed before the gate" in run.log("comment"), "no warning"
    )
    assert state["calls"] == []


# --- GitLab ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gitlab_ci_local(tmp_path_factory: pytest.TempPathFactory) -> GitlabCiLocal:
    if not GITLAB_CI_LOCAL.is_file():
        pytest.fail(f"{GITLAB_CI_LOCAL} is missing: run `npm ci` (see tests/test_e2e_gitlab.py)")
    return GitlabCiLocal(
        executable=GITLAB_CI_LOCAL,
        home=tmp_path_factory.mktemp("gitlab-ci-local-home"),
        cache=tmp_path_factory.mktemp("dependency-cache"),
    )


def test_gitlab_merge_request_fails_on_cost_alone_and_gets_the_verdict_note(
    gitlab_ci_local: GitlabCiLocal, tmp_path: Path
) -> None:
    project = generate_project(
        tmp_path / "demo-model", {"framework": "none", "package_manager": "pip"}, lock=True
    )
    target = (project / "metrics/baseline.json").read_text(encoding="utf-8")
    slow_training(project)
    token = "glpat-e2e"
    with fake_gitlab(target_baseline=target) as gitlab:
        variables = {
            "CI_PIPELINE_SOURCE": "merge_request_event",
            "CI_API_V4_URL": gitlab.api,
            "CI_PROJECT_ID": PROJECT_ID,
            "CI_MERGE_REQUEST_IID": MR_IID,
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": TARGET_BRANCH,
            "MLRIG_NOTE_TOKEN": token,
        }
        venv_bin = jobs_venv(tmp_path / "jobs-venv")
        run = gitlab_ci_local.run(project, venv_bin, "mr-note", needs=True, variables=variables)
    assert run.statuses == {"data": "PASS", "train": "FAIL", "mr-note": "PASS"}, run
    train = run.log("train")
    assert QUALITY_ROW in train, train
    assert COST_ROW.search(train), train
    assert COST_REASON.search(train), train

    assert [r.method for r in gitlab.requests] == ["GET", "GET", "POST"], gitlab.requests
    assert {r.token for r in gitlab.requests} == {token}
    assert len(gitlab.notes) == 1
    body = gitlab.notes[0]["body"]
    assert body.splitlines()[:2] == [MARKER, "## Model gate failed ❌"]
    assert "Quality and cost of this change against the target branch's baseline:" in body
    assert QUALITY_ROW in body, body
    assert COST_ROW.search(body), body
    assert f"posted the verdict on merge request !{MR_IID}" in run.log("mr-note")
