"""End-to-end: GitLab's image job gets the train job's model and smoke-tests the image.

gitlab-ci-local runs ``train`` and then ``docker-build`` of a generated project with the
shell executor. There is no Docker engine here, so a ``docker`` stub first on PATH plays
the engine: ``login``, ``buildx`` and ``push`` are logged and succeed; ``run IMAGE``
runs the image as its Dockerfile builds it, in the job's build directory: the
ENTRYPOINT's console script (from pyproject.toml's ``[project.scripts]``) on the code in
``src/`` and the model in ``artifacts/`` that the job got from ``train`` (the
Dockerfile's ``COPY src/`` and ``COPY artifacts/``). So the run proves the artifact
reaches the image job and the smoke commands accept what the entry point prints; a
project whose train job passes on no model fails the smoke step.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from tests.templaterepo import git
from tests.test_e2e_gitlab import (
    GitlabCiLocal,
    generate_project,
    gitlab_ci_local,
    jobs_venv,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
__all__ = ["gitlab_ci_local"]  # the fixture, imported for this module's tests

# The docker stub. It runs with the test's interpreter and reads the Dockerfile and
# pyproject.toml of its working directory (the job's build directory).
_DOCKER = """\
#!{python}
import json, os, subprocess, sys, tomllib

args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(" ".join(args) + "\\n")
if args[:1] != ["run"]:
    sys.exit(0)
args = args[1:]
while args[0] in ("--rm", "-i"):
    args.pop(0)


def instruction(name):
    with open("Dockerfile") as dockerfile:
        lines = [line for line in dockerfile if line.startswith(name + " ")]
    return json.loads(lines[-1][len(name) + 1:])


entrypoint, *options = instruction("ENTRYPOINT")
with open("pyproject.toml", "rb") as handle:
    module, _, function = tomllib.load(handle)["project"]["scripts"][entrypoint].partition(":")
code = f"import sys; from {{module}} import {{function}}; sys.exit({{function}}())"
env = {{**os.environ, "PYTHONPATH": os.path.abspath("src")}}
command = [sys.executable, "-c", code, *options, *(args[1:] or instruction("CMD"))]
sys.exit(subprocess.call(command, env=env))
"""


def _stub_docker(bin_dir: Path, log: Path) -> None:
    docker = bin_dir / "docker"
    docker.write_text(_DOCKER.format(python=sys.executable, log=str(log)))
    docker.chmod(0o755)


def _without_dind(project: Path) -> None:
    """Drop docker-build's Docker-in-Docker service, which the stub stands in for."""
    ci = project / ".gitlab-ci.yml"
    pipeline = yaml.safe_load(ci.read_text(encoding="utf-8"))
    del pipeline["docker-build"]["services"]
    ci.write_text(yaml.safe_dump(pipeline, sort_keys=False), encoding="utf-8")
    git(project, "commit", "--quiet", "--all", "--message", "No Docker-in-Docker service")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the docker stub reads TOML with tomllib")
def test_the_image_job_gets_the_train_jobs_model_and_smoke_tests_it(
    gitlab_ci_local: GitlabCiLocal, tmp_path: Path
) -> None:
    project = generate_project(
        tmp_path / "demo-model", {"framework": "none", "package_manager": "pip"}, lock=True
    )
    _without_dind(project)
    venv_bin = jobs_venv(tmp_path / "jobs-venv")
    log = tmp_path / "docker.log"
    _stub_docker(venv_bin, log)

    run = gitlab_ci_local.run(project, venv_bin, "data", "train", "docker-build")

    assert run.statuses == {"data": "PASS", "train": "PASS", "docker-build": "PASS"}, run
    build = run.log("docker-build")
    assert "row,prediction" in build
    assert "Not pushed: only the default branch and v* tags publish the image." not in build, (
        "a push to the default branch publishes"
    )
    calls = log.read_text().splitlines()
    assert [call.split()[0] for call in calls] == [
        "login",
        "buildx",
        "buildx",
        "run",
        "push",
        "push",
    ]
    assert calls[2].startswith("buildx build --load")


def test_the_smoke_step_fails_when_the_train_job_passes_on_no_model(
    gitlab_ci_local: GitlabCiLocal, tmp_path: Path
) -> None:
    project = generate_project(
        tmp_path / "demo-model", {"framework": "none", "package_manager": "pip"}, lock=True
    )
    ci = project / ".gitlab-ci.yml"
    # The sample the smoke step predicts on stays; the model is left behind.
    kept = "    paths:\n      - artifacts/metrics.json\n      - artifacts/sample.csv\n"
    ci.write_text(ci.read_text().replace("    paths:\n      - artifacts/\n", kept, 1))
    git(project, "commit", "--quiet", "--all", "--message", "Leave the model behind")
    _without_dind(project)
    venv_bin = jobs_venv(tmp_path / "jobs-venv")
    log = tmp_path / "docker.log"
    _stub_docker(venv_bin, log)

    run = gitlab_ci_local.run(project, venv_bin, "data", "train", "docker-build")

    assert run.statuses.get("docker-build") == "FAIL", run
    build = run.log("docker-build")
    assert "error: no model at artifacts/model.json" in build
    assert not [call for call in log.read_text().splitlines() if call.startswith("push")]
