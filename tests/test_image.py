"""The image ships the gated model and batch-predicts with it; CI smoke-tests it.

No Docker engine runs here, so the image is checked statically (hadolint runs in the
template matrix) and its entry point is run outside Docker: the Dockerfile's
ENTRYPOINT and CMD, run in the project as the image's WORKDIR, by a ``docker`` stub
that the CI smoke commands call. The train job's artifacts stand in for the model the
image ships.
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

from mlrig import builtin_template, new
from tests.conftest import MadeOnce, locking, make_answers, trained_project

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

WORKFLOW = Path(".github/workflows/ci.yml")
GITLAB = Path(".gitlab-ci.yml")
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
SMOKE = "Smoke-test the image on a sample"
SMOKE_ERROR = "the image did not predict a 0/1 label for each of the 20 sample rows"


def _yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _instruction(dockerfile: Path, name: str) -> list[str]:
    """The exec-form arguments of the Dockerfile's last ``name`` instruction."""
    lines = [line for line in dockerfile.read_text().splitlines() if line.startswith(name + " ")]
    value = json.loads(lines[-1].removeprefix(name + " "))
    assert isinstance(value, list)
    return value


def _scripts(project: Path) -> dict[str, str]:
    return dict(tomllib.loads((project / "pyproject.toml").read_text())["project"]["scripts"])


# --- the image, statically ---------------------------------------------------------------


@pytest.mark.parametrize("framework", ["sklearn", "pytorch", "none"])
def test_the_image_ships_the_trained_model_and_predicts_with_it_as_a_non_root_user(
    render: Callable[..., Path], framework: str
) -> None:
    project = render(framework=framework)
    dockerfile = (project / "Dockerfile").read_text()
    instructions = "\n".join(line for line in dockerfile.splitlines() if not line.startswith("#"))
    final = instructions.rsplit("\nFROM ", 1)[1]
    assert "COPY artifacts/ artifacts/" in final
    # No training in the image: neither at build time nor as its command.
    assert ".train" not in instructions
    assert "data/" not in final
    entrypoint = _instruction(project / "Dockerfile", "ENTRYPOINT")
    assert entrypoint == ["demo-model-predict"]
    assert _scripts(project)["demo-model-predict"] == "demo_model.predict:main"
    assert _instruction(project / "Dockerfile", "CMD") == ["-"]
    user = re.findall(r"^USER (\S+)$", final, flags=re.MULTILINE)
    assert user == ["10001:10001"]
    ignored = (project / ".dockerignore").read_text().splitlines()
    assert not [line for line in ignored if line.startswith("artifacts")]


def test_the_github_image_job_builds_from_the_train_jobs_artifact_and_smoke_tests_it(
    render: Callable[..., Path],
) -> None:
    project = render(ci_provider="github")
    workflow = _yaml(project / WORKFLOW)
    job = workflow["jobs"]["docker"]
    assert "train" in job["needs"]
    steps = {step["name"]: index for index, step in enumerate(job["steps"])}
    download = job["steps"][steps["Download the trained model"]]
    assert download["uses"].startswith("actions/download-artifact@")
    # The very artifact the train job uploads, into the build context's artifacts/.
    upload = next(
        s for s in workflow["jobs"]["train"]["steps"] if "upload-artifact" in s.get("uses", "")
    )
    assert download["with"] == {"name": upload["with"]["name"], "path": "artifacts/"}
    build = job["steps"][steps["Build the image"]]
    assert build["with"]["load"] is True
    assert "push" not in build["with"]
    push = job["steps"][steps["Push the image (default branch and v* tags)"]]
    assert push["if"] == "env.PUBLISH == 'true'"
    order = [steps[name] for name in ("Download the trained model", "Build the image", SMOKE)]
    assert order == sorted(order)
    assert order[-1] < steps[push["name"]]


def test_the_gitlab_image_job_takes_the_train_jobs_artifacts_and_smoke_tests_before_pushing(
    render: Callable[..., Path],
) -> None:
    project = render(ci_provider="gitlab")
    job = _yaml(project / GITLAB)["docker-build"]
    needs = {need["job"]: need["artifacts"] for need in job["needs"]}
    assert needs == {"lint": False, "test": False, "data": False, "train": True}
    script = "\n".join(job["script"])
    assert script.index("docker run --rm -i") < script.index("docker push")


def test_an_existing_repositorys_image_job_builds_its_own_dockerfile_untouched(
    render: Callable[..., Path],
) -> None:
    project = render(
        ci_provider="both",
        existing_repo=True,
        install_command="pip install -e .",
        lint_command="none",
        test_command="pytest",
        data_command="none",
        train_command="python train.py",
        monitoring_schedule="none",
    )
    steps = [step["name"] for step in _yaml(project / WORKFLOW)["jobs"]["docker"]["steps"]]
    assert "Download the trained model" not in steps
    assert SMOKE not in steps
    assert "docker run" not in "\n".join(_yaml(project / GITLAB)["docker-build"]["script"])


# --- the entry point and the smoke commands, run outside Docker --------------------------


def _docker_stub(bin_dir: Path, log: Path) -> None:
    """A ``docker`` that runs ``run`` as the image would, on the host; logs other calls.

    ``run [--rm] [-i] IMAGE [ARGS]`` runs the ENTRYPOINT of $STUB_IMAGE (a JSON object:
    entrypoint, cmd, workdir) with ARGS, or with its CMD when there are none, in workdir.
    """
    stub = bin_dir / "docker"
    stub.write_text(
        f"#!{sys.executable}\n"
        "import json, os, subprocess, sys\n"
        "args = sys.argv[1:]\n"
        f"with open({str(log)!r}, 'a') as log:\n"
        "    log.write(' '.join(args) + '\\n')\n"
        "if args[:1] != ['run']:\n"
        "    sys.exit(0)\n"
        "args = args[1:]\n"
        "while args[0] in ('--rm', '-i'):\n"
        "    args.pop(0)\n"
        "spec = json.loads(os.environ['STUB_IMAGE'])\n"
        "command = spec['entrypoint'] + (args[1:] or spec['cmd'])\n"
        "sys.exit(subprocess.call(command, cwd=spec['workdir']))\n"
    )
    stub.chmod(0o755)


def _image(project: Path, entrypoint: list[str] | None = None) -> str:
    """$STUB_IMAGE for the project's Dockerfile (or another entry point)."""
    dockerfile = project / "Dockerfile"
    return json.dumps(
        {
            "entrypoint": entrypoint or _instruction(dockerfile, "ENTRYPOINT"),
            "cmd": _instruction(dockerfile, "CMD"),
            "workdir": str(project),
        }
    )


def _run_smoke(
    project: Path, tmp_path: Path, provider: str, bin_dir: Path, image: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the image job's commands of ``provider`` with the docker stub; return its calls."""
    log = tmp_path / "docker.log"
    log.unlink(missing_ok=True)
    if provider == "github":
        steps = _yaml(project / WORKFLOW)["jobs"]["docker"]["steps"]
        script = next(step["run"] for step in steps if step["name"] == SMOKE)
    else:
        # The whole script: build (stubbed), smoke test, push (not in check mode).
        script = "\n".join(_yaml(project / GITLAB)["docker-build"]["script"])
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    env = {
        "PATH": os.pathsep.join([str(bin_dir), os.environ["PATH"]]),
        "STUB_IMAGE": image,
        "RUNNER_TEMP": str(runner_temp),
        "IMAGE_MODE": "check",
        "CI_REGISTRY_IMAGE": "registry.example.com/team/demo-model",
        "CI_COMMIT_SHORT_SHA": "0123abcd",
        "CACHE_REF": "registry.example.com/team/demo-model/cache:buildcache",
    }
    proc = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    return proc, log.read_text().splitlines() if log.exists() else []


def _host_entrypoint(project: Path, bin_dir: Path) -> None:
    """The console scripts of ``project``'s pyproject.toml as host commands (no install)."""
    for name, target in _scripts(project).items():
        module, _, function = target.partition(":")
        script = bin_dir / name
        script.write_text(
            f"#!{sys.executable}\n"
            "import sys\n"
            f"sys.path.insert(0, {str(project / 'src')!r})\n"
            f"from {module} import {function}\n"
            f"sys.exit({function}())\n"
        )
        script.chmod(0o755)


@pytest.fixture
def trained(made_once: MadeOnce, tmp_path: Path) -> Path:
    """A GitHub + GitLab project without an ML framework, trained as its train job does.

    Each test gets its own copy of a project rendered and trained once.
    """
    return trained_project(
        made_once,
        tmp_path / "demo-model",
        ci_provider="both",
        framework="none",
        python_version=PYTHON,
    )


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_the_smoke_commands_pass_on_the_images_predictions(
    trained: Path, tmp_path: Path, provider: str
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _docker_stub(bin_dir, tmp_path / "docker.log")
    _host_entrypoint(trained, bin_dir)

    proc, calls = _run_smoke(trained, tmp_path, provider, bin_dir, _image(trained))

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("row,prediction\n1,")
    runs = [call for call in calls if call.startswith("run ")]
    assert len(runs) == 1
    if provider == "gitlab":
        assert calls[0].startswith("buildx build --load")
        assert not [call for call in calls if call.startswith("push")]
        assert "Not pushed: only the default branch and v* tags publish the image." in proc.stdout


@pytest.mark.parametrize("provider", ["github", "gitlab"])
@pytest.mark.parametrize(
    "output", ["row,prediction", "row,prediction\n" + "".join(f"{i},2\n" for i in range(1, 21))]
)
def test_the_smoke_commands_fail_when_the_image_does_not_predict_every_row(
    trained: Path, tmp_path: Path, provider: str, output: str
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _docker_stub(bin_dir, tmp_path / "docker.log")
    broken = _image(trained, entrypoint=["printf", "%s\n", output.rstrip("\n")])

    proc, calls = _run_smoke(trained, tmp_path, provider, bin_dir, broken)

    assert proc.returncode == 1
    assert SMOKE_ERROR in proc.stdout + proc.stderr
    assert not [call for call in calls if call.startswith("push")]


@pytest.mark.slow
def test_the_installed_entry_point_predicts_over_a_sample_csv(tmp_path: Path) -> None:
    """A locked scikit-learn project, installed as its image installs it: the console
    script the image runs predicts for every row, and the smoke commands accept it."""
    project = tmp_path / "demo-model"
    answers = make_answers(ci_provider="both", python_version=PYTHON)
    with locking():
        result = new(project, answers=answers, template=builtin_template(), git=False)
    assert result.lock_problem is None, result.lock_problem
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "UV_PROJECT_ENVIRONMENT")
    }
    env["UV_CACHE_DIR"] = str(tmp_path.parent / "uv-cache")
    uv = str(Path(sys.executable).parent / "uv")

    def run(*argv: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            argv, cwd=project, env=env, capture_output=True, text=True, check=False, **kwargs
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    # As the Dockerfile does: exactly the lock, no dev tools, the package not editable.
    run(uv, "sync", "--locked", "--no-dev", "--no-editable", "--python", sys.executable)
    venv_bin = project / ".venv" / "bin"
    run(str(venv_bin / "python"), "-m", "demo_model.train", "--data", "data/train.csv")
    entrypoint = _instruction(project / "Dockerfile", "ENTRYPOINT")

    sample = tmp_path / "sample.csv"
    lines = (project / "data" / "train.csv").read_text().splitlines()[:31]
    sample.write_text("\n".join(lines) + "\n")
    predicted = run(str(venv_bin / entrypoint[0]), str(sample), "--format", "json")
    records = json.loads(predicted.stdout)
    assert [record["row"] for record in records] == list(range(1, 31))
    labels = [int(line.rsplit(",", 1)[1]) for line in lines[1:]]
    hits = sum(record["prediction"] == label for record, label in zip(records, labels, strict=True))
    assert hits >= 24, records  # the starter model is about 94% accurate

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _docker_stub(bin_dir, tmp_path / "docker.log")
    image = _image(project, entrypoint=[str(venv_bin / entrypoint[0])])
    for provider in ("github", "gitlab"):
        proc, _ = _run_smoke(project, tmp_path, provider, bin_dir, image)
        assert proc.returncode == 0, proc.stdout + proc.stderr
