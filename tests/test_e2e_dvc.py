"""End-to-end: a ``data_versioning=dvc`` project's jobs pull the data from a DVC remote.

One project (no ML framework, pip, both providers, this interpreter's Python) is
generated and locked as ``mlrig new`` does; DVC comes from the project's own locked dev
install into a throwaway venv (packages from the registries only). Its data is pushed,
as the generated README says, to a LOCAL DIRECTORY remote under ``tmp_path``, and the
CSV is then removed from the project's work tree (it is gitignored, never committed):
every job that reads it must pull it. The pipelines get the remote through the CI
variable ``DVC_REMOTE_URL``; a second, empty directory stands for a remote that lacks
the data. The GitLab jobs run with gitlab-ci-local, the GitHub ones with act (see
tests/test_e2e_gitlab.py and tests/test_e2e_github.py for how).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from mlrig import builtin_template, new
from tests.conftest import locking, make_answers
from tests.templaterepo import git
from tests.test_e2e_github import PYTHON, ActRun, package_cache, run_act
from tests.test_e2e_gitlab import GitlabCiLocal, PipelineRun, gitlab_ci_local, jobs_venv

__all__ = ["gitlab_ci_local", "package_cache"]  # fixtures, re-exported for pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PACKAGE = "demo_model"
CHECKED = "data/train.csv: 400 rows, all checks passed"


@dataclass(frozen=True)
class DvcProject:
    """The generated project (the CSV pushed, then removed) and what its jobs need."""

    project: Path
    venv_bin: Path
    remote: Path
    empty_remote: Path
    md5: str
    #: DVC's own state (site cache) for every run, kept under the test's directory.
    env: Mapping[str, str]


def _run(argv: list[str], cwd: Path, env: Mapping[str, str]) -> str:
    proc = subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
        timeout=900,
    )
    assert proc.returncode == 0, f"$ {' '.join(argv)}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def dvc_project(tmp_path_factory: pytest.TempPathFactory, package_cache: Path) -> DvcProject:
    base = tmp_path_factory.mktemp("dvc")
    project = base / "demo-model"
    answers = make_answers(
        ci_provider="both",
        package_manager="pip",
        framework="none",
        python_version=PYTHON,
        data_versioning="dvc",
    )
    with locking():
        result = new(project, answers=answers, template=builtin_template())
    assert result.lock_problem is None, result.lock_problem
    assert git(project, "ls-files", "data") == "data/.gitignore\ndata/train.csv.dvc"

    env = {
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(base / "dvc-site-cache"),
        "PIP_CACHE_DIR": str(package_cache / "pip"),
    }
    # The project's own locked dev install (the one its CI jobs run) brings DVC.
    venv_bin = jobs_venv(base / "jobs-venv")
    lock = project / "requirements-dev.lock"
    _run([str(venv_bin / "pip"), "install", "--require-hashes", "-r", str(lock)], project, env)

    # Push the data as the README says, from a clone (whose config.local stays there).
    remote, empty_remote = base / "remote", base / "empty-remote"
    empty_remote.mkdir()
    scratch = base / "scratch"
    git(base, "clone", "--quiet", str(project), str(scratch))
    shutil.copy(project / "data/train.csv", scratch / "data/train.csv")
    dvc = str(venv_bin / "dvc")
    _run([dvc, "remote", "add", "--local", "storage", str(remote)], scratch, env)
    _run([dvc, "add", "data/train.csv"], scratch, env)
    # `dvc add` rewrote the shipped data/train.csv.dvc byte for byte: DVC agrees with it.
    assert git(scratch, "status", "--porcelain") == ""
    assert "1 file pushed" in _run([dvc, "push"], scratch, env)

    (project / "data/train.csv").unlink()
    md5 = yaml.safe_load((project / "data/train.csv.dvc").read_text())["outs"][0]["md5"]
    return DvcProject(project, venv_bin, remote, empty_remote, md5, env)


def _clone(made: DvcProject, dest: Path) -> Path:
    git(made.project.parent, "clone", "--quiet", str(made.project), str(dest))
    git(dest, "remote", "remove", "origin")  # gitlab-ci-local would parse a local path
    return dest


@dataclass(frozen=True)
class _GitlabCiLocalWith(GitlabCiLocal):
    """gitlab-ci-local with CI/CD variables (``--variable``; its variables file would take
    a value naming an existing directory, such as a local remote, for a file variable)."""

    variables: tuple[str, ...] = ()

    def _argv(self, *args: str) -> list[str]:
        return super()._argv(*args, *(f"--variable={item}" for item in self.variables))


def _gitlab(
    made: DvcProject, gitlab_ci_local: GitlabCiLocal, remote: Path, workdir: Path, *jobs: str
) -> tuple[PipelineRun, Path]:
    """Run ``jobs`` of a clone of the project with the CI/CD variable ``DVC_REMOTE_URL``."""
    clone = _clone(made, workdir / "project")
    variables = {"DVC_REMOTE_URL": str(remote), **made.env}
    runner = _GitlabCiLocalWith(
        gitlab_ci_local.executable,
        gitlab_ci_local.home,
        gitlab_ci_local.cache,
        tuple(f"{name}={value}" for name, value in variables.items()),
    )
    return runner.run(clone, made.venv_bin, *jobs), clone


def test_gitlab_data_and_train_jobs_pull_check_and_record_the_data_version(
    dvc_project: DvcProject, gitlab_ci_local: GitlabCiLocal, tmp_path: Path
) -> None:
    run, clone = _gitlab(
        dvc_project, gitlab_ci_local, dvc_project.remote, tmp_path, "data", "train"
    )
    assert run.statuses == {"data": "PASS", "train": "PASS"}, run
    data_log = run.log("data")
    assert "1 file added" in data_log, data_log
    assert data_log.index("1 file added") < data_log.index(CHECKED), data_log
    assert "1 file added" in run.log("train")
    assert "Gate passed." in run.log("train")
    # The train job's artifact records the version of the data it trained on.
    metrics_file = clone / ".gitlab-ci-local/artifacts/train/artifacts/metrics.json"
    assert json.loads(metrics_file.read_text())["data_md5"] == dvc_project.md5


def test_gitlab_data_job_fails_when_the_remote_lacks_the_data(
    dvc_project: DvcProject, gitlab_ci_local: GitlabCiLocal, tmp_path: Path
) -> None:
    run, _ = _gitlab(dvc_project, gitlab_ci_local, dvc_project.empty_remote, tmp_path, "data")
    assert run.statuses == {"data": "FAIL"}, run
    log = run.log("data")
    assert dvc_project.md5 in log, log  # DVC names the missing file by its md5
    assert "ERROR: dvc pull failed: set the CI/CD variable DVC_REMOTE_URL" in log, log
    assert CHECKED not in log


PULL = "Pull the dataset (DVC)"
CHECK = "Check the dataset (schema, ranges, nulls, row count)"


def _act(made: DvcProject, remote: Path, workdir: Path, cache: Path) -> ActRun:
    """Run the GitHub data job of a clone with the repository variable ``DVC_REMOTE_URL``."""
    clone = _clone(made, workdir / "project")
    # act reads the repository variables (vars.*) from .vars in its working directory.
    (clone / ".vars").write_text(f"DVC_REMOTE_URL={remote}\n")
    return run_act(clone, "data", workdir / "act", cache, env=made.env)


def test_github_data_job_pulls_and_checks_the_data(
    dvc_project: DvcProject, package_cache: Path, tmp_path: Path
) -> None:
    run = _act(dvc_project, dvc_project.remote, tmp_path, package_cache)
    assert run.job_results == {"data": "success"}, run.log()
    assert "1 file added" in run.output("data", PULL), run.log()
    assert CHECKED in run.output("data", CHECK), run.log()


def test_github_data_job_fails_when_the_remote_lacks_the_data(
    dvc_project: DvcProject, package_cache: Path, tmp_path: Path
) -> None:
    run = _act(dvc_project, dvc_project.empty_remote, tmp_path, package_cache)
    assert run.job_results == {"data": "failure"}, run.log()
    assert run.step_result("data", PULL) == "failure", run.log()
    assert "::error::dvc pull failed" in run.output("data", PULL), run.log()
    assert run.step_result("data", CHECK) is None, run.log()
