"""End-to-end: adopt each world-gallery repository, then run every job mlrig added.

The promise to a user with a repository of their own: after ``mlrig adopt`` and a
commit, the pipeline's new jobs are green on the first run. Each gallery repository
(tests/world.py) is adopted with this interpreter's Python (``-d python_version=``:
the jobs run on the host, which has no other Python), committed, and:

- GitLab: the jobs mlrig added to the push pipeline run with gitlab-ci-local's shell
  executor, as tests/test_e2e_gitlab.py runs a new project's (same runner, venv and
  caches);
- GitHub: each job mlrig added to a push workflow runs with act in host mode, with
  the offline action stubs of tests/act_stubs, as tests/test_e2e_github.py does.

Jobs that need a Docker engine (``docker``, ``docker-build``) are not run; scheduled
and template-sync jobs do not belong to a push pipeline. Needs gitlab-ci-local, rsync,
act and the package registries.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.templaterepo import commit_project
from tests.test_adopt_world import NAMES, adopt_repo, job_names
from tests.test_e2e_github import PYTHON, package_cache, run_act
from tests.test_e2e_gitlab import GitlabCiLocal, _listed_jobs, gitlab_ci_local, jobs_venv
from tests.world import REPOS

__all__ = ["gitlab_ci_local", "package_cache"]  # fixtures, re-exported for pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DOCKER_JOBS = frozenset({"docker", "docker-build"})


@pytest.mark.parametrize("name", [n for n in NAMES if REPOS[n].provider == "gitlab"])
def test_every_gitlab_job_mlrig_added_passes_on_the_first_run(
    tmp_path: Path, gitlab_ci_local: GitlabCiLocal, name: str
) -> None:
    adopted = adopt_repo(name, tmp_path / "work", "-d", f"python_version={PYTHON}")
    assert adopted.exit_code == 0, adopted.output
    commit_project(adopted.repo, "adopt mlrig")
    listed = gitlab_ci_local.inspect(adopted.repo, "--list-csv", "--no-json-schema-validation")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    push_jobs = set(_listed_jobs(listed))
    jobs = sorted((push_jobs & job_names(adopted.mlrig_jobs, "gitlab")) - DOCKER_JOBS)
    assert jobs, f"mlrig added no job to {name}'s push pipeline that runs here"

    run = gitlab_ci_local.run(adopted.repo, jobs_venv(tmp_path / "jobs-venv"), *jobs)

    assert run.statuses == dict.fromkeys(jobs, "PASS"), run
    assert run.returncode == 0, run


@pytest.mark.parametrize("name", [n for n in NAMES if REPOS[n].provider == "github"])
def test_every_github_job_mlrig_added_passes_on_the_first_run(
    tmp_path: Path, package_cache: Path, name: str
) -> None:
    adopted = adopt_repo(name, tmp_path / "work", "-d", f"python_version={PYTHON}")
    assert adopted.exit_code == 0, adopted.output
    commit_project(adopted.repo, "adopt mlrig")
    runs = []
    for key in sorted(adopted.mlrig_jobs):
        _, workflow, job = key.split(":")
        if job in DOCKER_JOBS or workflow.rsplit("/", 1)[-1] in (
            "monitor.yml",
            "template-sync.yml",
        ):
            continue
        runs.append(
            run_act(
                adopted.repo,
                job,
                tmp_path / "act" / job,
                package_cache,
                workflow=adopted.repo / workflow,
            )
        )
    assert runs, f"mlrig added no push job to {name} that runs here"
    for run in runs:
        assert run.job is not None
        run.check(run.returncode == 0, "act failed")
        run.check(run.job_results.get(run.job) == "success", f"{run.job} is not green")
