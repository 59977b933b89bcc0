"""End-to-end: the scheduled monitoring of a generated project, on both providers.

Each scenario runs the real monitoring job against a local data file: data shifted by
one standard deviation (drift detected, report and issue payload written, the job red),
unshifted data (green, no issue) and no source configured (a labelled rehearsal).

- GitHub, with act (the runners of tests/test_e2e_github.py): the published model is the
  ``artifacts`` artifact that the CI workflow's own train job uploaded, run once by act;
  it is served as the artifact of an earlier run (``MLRIG_E2E_RUNS/<run id>``) to the
  download-artifact stub. ``gh`` is a stub on PATH that answers the workflow's queries
  (default branch, successful runs, their artifacts, open issues) and records every call
  and issue body in a sink directory: nothing is posted.
- GitLab, with gitlab-ci-local (the runner of tests/test_e2e_gitlab.py): the job's API
  base (``CI_API_V4_URL``) points at a local HTTP server that serves the train job's
  artifacts as GitLab's job-artifacts API does (a zip) and records the issue calls.

The data source is the CI variable ``MONITOR_DATA_URL`` (a repository variable in act's
``.vars`` file; a CI/CD variable for gitlab-ci-local), a file in the test's directory.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from tests.test_e2e_github import (
    MONITOR_WORKFLOW,
    ActRun,
    action_stubs,
    generate,
    run_act,
    runner_env,
)
from tests.test_e2e_github import package_cache as package_cache
from tests.test_e2e_gitlab import (
    GitlabCiLocal,
    generate_project,
    jobs_venv,
)
from tests.test_e2e_gitlab import gitlab_ci_local as gitlab_ci_local

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PACKAGE = "demo_model"
REHEARSAL = "rehearsal: no data source configured (set MONITOR_DATA_URL)"
MONITOR_STEP = "Monitor the published model on the newest data"
PUBLISHED_RUN = "4242"

GH_STUB = """\
#!{python}
# gh, as far as monitor.yml uses it: answers from the test's directories, records calls.
import json, os, shutil, sys
from pathlib import Path

sink = Path(os.environ["MLRIG_E2E_GH_SINK"])
runs = Path(os.environ["MLRIG_E2E_RUNS"])
args = sys.argv[1:]
with (sink / "calls.jsonl").open("a") as log:
    log.write(json.dumps(args) + "\\n")
if args[0] == "api" and args[1].endswith("/artifacts"):
    run_id = args[1].split("/")[-2]
    if (runs / run_id / "artifacts").is_dir():
        print(run_id + "01")
elif args[0] == "api":  # the repository: its default branch
    print("main")
elif args[:2] == ["run", "list"]:
    print("\\n".join(sorted((p.name for p in runs.iterdir()), reverse=True)))
elif args[:2] == ["issue", "list"]:
    print(os.environ.get("MLRIG_E2E_OPEN_ISSUE", ""))
elif args[:2] in (["issue", "create"], ["issue", "comment"]):
    shutil.copy(args[args.index("--body-file") + 1], sink / ("issue-" + args[1] + ".md"))
elif args[:2] != ["label", "create"]:
    sys.exit("gh stub: unexpected call: " + " ".join(args))
"""


def data_file(project: Path, path: Path, shift: float) -> Path:
    """300 fresh unlabelled rows of the project's own generator, shifted by ``shift`` sd."""
    code = (
        f"from pathlib import Path; from {PACKAGE}.data import make_sample, write_csv; "
        f"write_csv(make_sample(300, seed=11, drift={shift}), Path({str(path)!r}))"
    )
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    rows = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(",".join(r.split(",")[:4]) for r in rows) + "\n", encoding="utf-8")
    return path


# --- GitHub (act) -------------------------------------------------------------------


@dataclass(frozen=True)
class GithubMonitorRun:
    run: ActRun
    sink: Path

    @property
    def gh_calls(self) -> list[list[str]]:
        log = self.sink / "calls.jsonl"
        lines = log.read_text().splitlines() if log.is_file() else []
        return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def github_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("monitor-gh") / "demo-model", framework="none")


@pytest.fixture(scope="module")
def published_runs(
    github_project: Path, package_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Earlier runs' artifacts: run 4242's ``artifacts``, uploaded by CI's own train job."""
    workdir = tmp_path_factory.mktemp("monitor-gh-train")
    train = run_act(github_project, "train", workdir, package_cache)
    train.check(train.job_results.get("train") == "success", "the train job must pass")
    runs = tmp_path_factory.mktemp("published")
    shutil.copytree(train.artifacts / "artifacts", runs / PUBLISHED_RUN / "artifacts")
    return runs


def _monitor_run(
    project: Path, cache: Path, tmp_path: Path, runs: Path, source: str | None
) -> GithubMonitorRun:
    """Run monitor.yml (monitor, then report) by hand with MONITOR_DATA_URL = ``source``.

    ``runs`` holds the earlier runs' artifacts (``<run id>/<name>/``) that gh and
    download-artifact see.
    """
    bin_dir, sink = tmp_path / "stub-bin", tmp_path / "gh-sink"
    bin_dir.mkdir()
    sink.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(GH_STUB.format(python=sys.executable), encoding="utf-8")
    gh.chmod(0o755)
    # act reads the repository variables (vars.*) and secrets from these files.
    (project / ".vars").write_text(
        "" if source is None else f"MONITOR_DATA_URL={source}\n", encoding="utf-8"
    )
    (project / ".secrets").write_text("GITHUB_TOKEN=e2e-token\n", encoding="utf-8")
    path = runner_env(tmp_path / "unused", tmp_path / "unused")["PATH"]
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{path}",
        "MLRIG_E2E_GH_SINK": str(sink),
        "MLRIG_E2E_RUNS": str(runs),
    }
    payload = {"ref": "refs/heads/main", "inputs": {}}
    run = run_act(
        project,
        "report",
        tmp_path / "act",
        cache,
        project / MONITOR_WORKFLOW,
        event="workflow_dispatch",
        payload=payload,
        env=env,
    )
    return GithubMonitorRun(run, sink)


@pytest.fixture
def monitor_on_github(
    github_project: Path, published_runs: Path, package_cache: Path, tmp_path: Path
) -> Callable[[str | None], GithubMonitorRun]:
    """Run monitor.yml with the published run 4242 and MONITOR_DATA_URL = the source."""

    def _run(source: str | None) -> GithubMonitorRun:
        return _monitor_run(github_project, package_cache, tmp_path, published_runs, source)

    return _run


def test_github_shifted_data_is_drift_with_a_report_an_issue_and_a_red_job(
    monitor_on_github: Callable[[str | None], GithubMonitorRun],
    github_project: Path,
    tmp_path: Path,
) -> None:
    result = monitor_on_github(str(data_file(github_project, tmp_path / "new.csv", 1.0)))
    run = result.run
    run.check(run.job_results.get("monitor") == "failure", "monitor must fail on drift")
    run.check(run.step_result("monitor", MONITOR_STEP) == "failure", "the monitor step fails")
    run.check(run.job_results.get("report") == "success", "the report job must post the issue")
    # The model is the published one: the newest successful ci.yml run on the default branch.
    calls = result.gh_calls
    assert (calls[1][:8]) == [
        "run",
        "list",
        "--workflow",
        "ci.yml",
        "--branch",
        "main",
        "--status",
        "success",
    ], calls
    assert "copied to artifacts" in run.output("monitor", "Download the published model")
    assert f"of run {PUBLISHED_RUN}" in run.output("monitor", "Download the published model")
    report = (run.artifacts / "monitoring" / "report.md").read_text()
    assert "**Status: degraded**" in report
    assert "temperature drifted: PSI" in report
    assert (run.artifacts / "monitoring" / "drift.svg").read_text().startswith("<svg")
    issue = (result.sink / "issue-create.md").read_text()
    assert "temperature drifted" in issue
    assert "/actions/runs/" in issue  # the link to the run


def test_github_unshifted_data_is_green_without_an_issue(
    monitor_on_github: Callable[[str | None], GithubMonitorRun],
    github_project: Path,
    tmp_path: Path,
) -> None:
    result = monitor_on_github(str(data_file(github_project, tmp_path / "new.csv", 0.0)))
    run = result.run
    run.check(run.job_results.get("monitor") == "success", "monitor must pass")
    run.check("model healthy: no drift" in run.output("monitor", MONITOR_STEP), "healthy")
    run.check(run.job_results.get("report") != "success", "no report job")
    assert not any(call[:1] == ["issue"] for call in result.gh_calls)


def test_github_without_a_source_is_a_labelled_rehearsal(
    monitor_on_github: Callable[[str | None], GithubMonitorRun],
) -> None:
    result = monitor_on_github(None)
    run = result.run
    run.check(run.job_results.get("monitor") == "success", "a rehearsal passes")
    first = run.output("monitor", MONITOR_STEP).strip().splitlines()[0]
    assert first == REHEARSAL
    report = (run.artifacts / "monitoring" / "report.md").read_text()
    assert report.splitlines()[0] == REHEARSAL
    assert "healthy" not in report
    assert not any(call[:1] == ["issue"] for call in result.gh_calls)


def test_github_without_a_published_model_fails_and_trains_none(
    github_project: Path, package_cache: Path, tmp_path: Path
) -> None:
    """No successful default-branch run holds an ``artifacts`` artifact: red, no issue."""
    empty = tmp_path / "no-runs"
    empty.mkdir()
    run = _monitor_run(github_project, package_cache, tmp_path, empty, str(tmp_path / "x.csv"))
    act = run.run
    act.check(act.job_results.get("monitor") == "failure", "monitor must fail")
    act.check(act.step_result("monitor", "Find the published model") == "failure", "the lookup")
    act.check("no published model" in act.log("monitor"), "the reason is given")
    act.check(act.step_result("monitor", MONITOR_STEP) is None, "nothing is evaluated")
    assert not any(call[:1] == ["issue"] for call in run.gh_calls)


def test_download_artifact_stub_refuses_what_it_cannot_honour(
    github_project: Path, package_cache: Path, tmp_path: Path
) -> None:
    """A stub that accepted anything would let a broken workflow pass: prove it refuses."""
    (uses,) = [u for u in action_stubs(github_project / MONITOR_WORKFLOW) if "download" in u]
    jobs = {
        "no-token": {"name": "artifacts", "run-id": PUBLISHED_RUN},
        "not-uploaded": {"name": "monitoring"},
        "pattern": {"pattern": "art*"},
    }
    workflow = {
        "on": "push",
        "jobs": {
            job: {"runs-on": "ubuntu-latest", "steps": [{"uses": uses, "with": inputs}]}
            for job, inputs in jobs.items()
        },
    }
    path = tmp_path / "workflows" / "stubs.yml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
    run = run_act(github_project, None, tmp_path / "act", package_cache, workflow=path)
    run.check(run.job_results == dict.fromkeys(jobs, "failure"), "every job must fail")
    expected = {
        "no-token": "run-id needs github-token",
        "not-uploaded": "Artifact not found for name: monitoring",
        "pattern": "input(s) not implemented by the offline stub: pattern",
    }
    for job, message in expected.items():
        run.check(message in run.log(job), f"{job}: no {message!r}")


# --- GitLab (gitlab-ci-local) -------------------------------------------------------


@dataclass
class GitlabApi:
    """A local stand-in for the parts of GitLab's REST API the monitor job calls."""

    published: bytes | None
    open_issues: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def gitlab_api() -> Iterator[GitlabApi]:
    api = GitlabApi(published=None)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _record(self, body: bytes = b"") -> dict[str, Any]:
            parts = urlsplit(self.path)
            call = {
                "method": self.command,
                "path": parts.path,
                "query": parse_qs(parts.query),
                "headers": dict(self.headers),
                "body": body.decode(),
            }
            api.calls.append(call)
            return call

        def do_GET(self) -> None:
            call = self._record()
            if "/jobs/artifacts/" in call["path"]:
                if api.published is None:
                    self._answer(404, b'{"message": "404 Not found"}')
                else:
                    self._answer(200, api.published, "application/zip")
            elif call["path"].endswith("/issues"):
                self._answer(200, json.dumps(api.open_issues).encode())
            else:
                self._answer(404, b"{}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self._record(self.rfile.read(length))
            self._answer(201, b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_port}/api/v4"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class GitlabProject:
    project: Path
    venv_bin: Path
    published: bytes


@pytest.fixture(scope="module")
def gitlab_project(tmp_path_factory: pytest.TempPathFactory) -> GitlabProject:
    """A locked GitLab project, and the zip its train job would publish (trained here)."""
    base = tmp_path_factory.mktemp("monitor-gl")
    project = generate_project(base / "demo-model", {"framework": "none"}, lock=True)
    out = base / "published"
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    subprocess.run(
        [sys.executable, "-m", f"{PACKAGE}.train", "--data", str(project / "data/train.csv"),
         "--out", str(out / "artifacts")],
        env=env, check=True, timeout=120, capture_output=True,
    )  # fmt: skip
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(out.rglob("*")):
            bundle.write(path, path.relative_to(out).as_posix())
    return GitlabProject(project, jobs_venv(base / "jobs-venv"), archive.getvalue())


def run_monitor_job(
    gitlab_ci_local: GitlabCiLocal,
    made: GitlabProject,
    api: GitlabApi,
    source: str | None,
) -> Any:
    variables = {
        "CI_PIPELINE_SOURCE": "schedule",
        "CI_API_V4_URL": api.url,
        "CI_JOB_TOKEN": "e2e-job-token",
        "MLRIG_ISSUE_TOKEN": "e2e-issue-token",
        **({} if source is None else {"MONITOR_DATA_URL": source}),
    }
    return gitlab_ci_local.run(made.project, made.venv_bin, "monitor", variables=variables)


def test_gitlab_shifted_data_is_drift_and_updates_the_one_open_issue(
    gitlab_ci_local: GitlabCiLocal,
    gitlab_project: GitlabProject,
    gitlab_api: GitlabApi,
    tmp_path: Path,
) -> None:
    gitlab_api.published = gitlab_project.published
    gitlab_api.open_issues = [{"iid": 7}]
    source = data_file(gitlab_project.project, tmp_path / "new.csv", 1.0)
    run = run_monitor_job(gitlab_ci_local, gitlab_project, gitlab_api, str(source))
    assert run.statuses == {"monitor": "FAIL"}, run
    log = run.log("monitor")
    assert "temperature drifted: PSI" in log, log
    assert "Updated the monitoring issue #7" in log, log
    fetch, lookup, note = gitlab_api.calls
    assert fetch["path"].endswith("/jobs/artifacts/main/download")
    assert fetch["query"] == {"job": ["train"]}
    # The model with the job's own token; the issue token only for the issue.
    assert fetch["headers"].get("JOB-TOKEN") == "e2e-job-token"
    assert "PRIVATE-TOKEN" not in fetch["headers"]
    assert lookup["query"]["labels"] == ["model-degradation"]
    assert lookup["headers"]["PRIVATE-TOKEN"] == "e2e-issue-token"
    assert note["method"] == "POST"
    assert note["path"].endswith("/issues/7/notes")
    assert "temperature+drifted" in note["body"] or "temperature%20drifted" in note["body"]


def test_gitlab_first_degradation_opens_the_issue(
    gitlab_ci_local: GitlabCiLocal,
    gitlab_project: GitlabProject,
    gitlab_api: GitlabApi,
    tmp_path: Path,
) -> None:
    gitlab_api.published = gitlab_project.published
    source = data_file(gitlab_project.project, tmp_path / "new.csv", 1.0)
    run = run_monitor_job(gitlab_ci_local, gitlab_project, gitlab_api, source.as_uri())
    assert run.statuses == {"monitor": "FAIL"}, run
    created = gitlab_api.calls[-1]
    assert created["path"].endswith("/issues")
    assert created["method"] == "POST"
    issue = json.loads(created["body"])
    assert issue["labels"] == "model-degradation"
    assert "temperature drifted" in issue["description"]


def test_gitlab_unshifted_data_is_green_without_an_issue(
    gitlab_ci_local: GitlabCiLocal,
    gitlab_project: GitlabProject,
    gitlab_api: GitlabApi,
    tmp_path: Path,
) -> None:
    gitlab_api.published = gitlab_project.published
    source = data_file(gitlab_project.project, tmp_path / "new.csv", 0.0)
    run = run_monitor_job(gitlab_ci_local, gitlab_project, gitlab_api, str(source))
    assert run.statuses == {"monitor": "PASS"}, run
    assert "model healthy: no drift" in run.log("monitor")
    assert [call["method"] for call in gitlab_api.calls] == ["GET"]


def test_gitlab_without_a_source_is_a_labelled_rehearsal(
    gitlab_ci_local: GitlabCiLocal, gitlab_project: GitlabProject, gitlab_api: GitlabApi
) -> None:
    gitlab_api.published = gitlab_project.published
    run = run_monitor_job(gitlab_ci_local, gitlab_project, gitlab_api, None)
    assert run.statuses == {"monitor": "PASS"}, run
    log = run.log("monitor")
    assert REHEARSAL in log
    assert "model healthy" not in log
    assert len(gitlab_api.calls) == 1  # the model only: no issue


def test_gitlab_without_a_published_model_fails_and_trains_none(
    gitlab_ci_local: GitlabCiLocal,
    gitlab_project: GitlabProject,
    gitlab_api: GitlabApi,
    tmp_path: Path,
) -> None:
    source = data_file(gitlab_project.project, tmp_path / "new.csv", 0.0)
    run = run_monitor_job(gitlab_ci_local, gitlab_project, gitlab_api, str(source))
    assert run.statuses == {"monitor": "FAIL"}, run
    log = run.log("monitor")
    assert "no published model" in log
    assert f"{PACKAGE}.train" not in log
