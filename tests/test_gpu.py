"""The GPU job: only for pytorch, and what it runs is the GPU path.

- ``gpu_runner`` is refused, with the reason, for a framework with no GPU path and for a
  repository mlrig did not create (by the answers model and by copier.yml), and mlrig
  does not ask it then.
- The GPU job (GitHub and GitLab) installs the lock, swaps in the CUDA build of the
  torch version the lock pins, checks that torch sees a GPU, runs only ``pytest -m gpu``
  and a training run. Its install command is run here on lock files, with the installers
  stubbed (no GPU, and a CUDA torch is several GB).
- The generated GPU tests are collected under their registered ``gpu`` marker and skipped
  where torch sees no CUDA device, with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlrig import InvalidInputError, resolve_answers
from mlrig.answers import Question
from tests.conftest import make_answers

WORKFLOW = Path(".github/workflows/ci.yml")
GITLAB = Path(".gitlab-ci.yml")
GPU_TESTS = Path("tests/test_gpu.py")
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
# How the lock files pin torch's CPU-only build: a universal lock holds one entry for
# macOS (PyTorch's index serves it without a local version) and one for the rest.
UV_LOCK = """\
version = 1

[[package]]
name = "numpy"
version = "2.3.5"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "torch"
version = "2.9.1"
source = { registry = "https://download.pytorch.org/whl/cpu" }
resolution-markers = ["sys_platform == 'darwin'"]
dependencies = [{ name = "numpy" }]

[[package]]
name = "torch"
version = "2.9.1+cpu"
source = { registry = "https://download.pytorch.org/whl/cpu" }
resolution-markers = ["sys_platform != 'darwin'"]

[[package]]
name = "demo-model"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "torch", version = "2.9.1+cpu" }]
"""
PIP_LOCK = """\
numpy==2.3.5 \\
    --hash=sha256:00
torch==2.9.1 ; sys_platform == 'darwin' \\
    --hash=sha256:11
torch==2.9.1+cpu ; sys_platform != 'darwin' \\
    --hash=sha256:22
    # via demo-model
"""


def _yaml(path: Path) -> dict[str, Any]:
    class Loader(yaml.SafeLoader):
        pass

    def reference(loader: yaml.SafeLoader, node: yaml.Node) -> list[Any]:
        assert isinstance(node, yaml.SequenceNode)
        return loader.construct_sequence(node)

    Loader.add_constructor("!reference", reference)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)
    assert isinstance(data, dict)
    return data


# --- the answer ------------------------------------------------------------------------


@pytest.mark.parametrize("framework", ["sklearn", "none"])
def test_a_gpu_runner_is_refused_for_a_framework_with_no_gpu_path(framework: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        make_answers(framework=framework, gpu_runner="gpu-a100")
    message = str(caught.value)
    assert f"framework {framework} has no GPU path" in message
    assert "set gpu_runner to 'none' (-d gpu_runner=none), or choose framework=pytorch" in message


#: The answers of a repository mlrig did not create that runs its own tests only.
EXISTING: dict[str, object] = {
    "existing_repo": True,
    "install_command": "pip install -e .",
    "test_command": "pytest",
    "lint_command": "none",
    "data_command": "none",
    "train_command": "none",
    "monitoring_schedule": "none",
}


def test_a_gpu_runner_is_refused_for_a_repository_mlrig_did_not_create() -> None:
    with pytest.raises(InvalidInputError, match="which a repository mlrig did not create lacks"):
        make_answers(framework="pytorch", gpu_runner="gpu-a100", **EXISTING)


@pytest.mark.parametrize(("framework", "asked"), [("pytorch", True), ("sklearn", False)])
def test_the_gpu_runner_is_asked_only_for_pytorch(framework: str, asked: bool) -> None:
    questions: list[str] = []

    def ask(question: Question, default: object) -> object:
        questions.append(question.name)
        return default

    answers = resolve_answers(
        {"framework": framework}, project_default="demo", use_defaults=False, ask=ask
    )
    assert ("gpu_runner" in questions) is asked
    assert answers.gpu_runner == "none"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"framework": "sklearn", "gpu_runner": "gpu-a100"}, "framework sklearn has no GPU path"),
        ({"framework": "none", "gpu_runner": "gpu-a100"}, "framework none has no GPU path"),
        (
            {"framework": "pytorch", "gpu_runner": "gpu-a100", **EXISTING},
            "which a repository mlrig did not create lacks",
        ),
    ],
)
def test_plain_copier_refuses_the_same_gpu_runners(
    tmp_path: Path, data: dict[str, object], message: str
) -> None:
    from copier import run_copy

    from mlrig import builtin_template

    source = shutil.copytree(builtin_template(), tmp_path / "template")
    with pytest.raises(ValueError, match=message):
        run_copy(str(source), tmp_path / "p", data=data, defaults=True, quiet=True)
    assert not (tmp_path / "p").exists()


# --- the job ---------------------------------------------------------------------------


@pytest.mark.parametrize("framework", ["sklearn", "none"])
def test_no_gpu_job_or_gpu_tests_for_a_framework_with_no_gpu_path(
    render: Callable[..., Path], framework: str
) -> None:
    project = render(ci_provider="both", framework=framework)
    assert "gpu-test" not in _yaml(project / WORKFLOW)["jobs"]
    assert "gpu-test" not in _yaml(project / GITLAB)
    assert not (project / GPU_TESTS).exists()
    assert "gpu" not in (project / "pyproject.toml").read_text()


@pytest.mark.parametrize("manager", ["uv", "pip"])
def test_the_github_gpu_job_runs_only_the_gpu_tests_and_a_training_run(
    render: Callable[..., Path], manager: str
) -> None:
    project = render(framework="pytorch", gpu_runner="gpu-a100", package_manager=manager)
    job = _yaml(project / WORKFLOW)["jobs"]["gpu-test"]
    assert job["runs-on"] == ["self-hosted", "gpu-a100"]
    names = [step["name"] for step in job["steps"]]
    assert names[-4:] == [
        "Install the CUDA build of the locked torch",
        "Check that torch sees the GPU",
        "GPU tests",
        "Train on the GPU (smoke run)",
    ]
    runs = {step["name"]: step.get("run", "") for step in job["steps"]}
    prefix = "uv run --no-sync " if manager == "uv" else ""
    assert runs["GPU tests"] == f"{prefix}pytest -m gpu -rs"
    assert runs["Train on the GPU (smoke run)"].startswith(f"{prefix}python -m demo_model.train")
    assert "torch.cuda.is_available()" in runs["Check that torch sees the GPU"]
    # The lock first, as in the CPU jobs; no unpinned torch anywhere.
    install = runs["Install dependencies"]
    assert ("uv sync --locked" in install) if manager == "uv" else ("--require-hashes" in install)
    installs = re.findall(r"(?<![a-z])install [^\n]*\btorch\b[^\n]*", "\n".join(runs.values()))
    assert installs, runs
    assert all('"torch==$version"' in line for line in installs), installs


@pytest.mark.parametrize("manager", ["uv", "pip"])
def test_the_gitlab_gpu_job_runs_only_the_gpu_tests_and_a_training_run(
    render: Callable[..., Path], manager: str
) -> None:
    project = render(
        ci_provider="gitlab", framework="pytorch", gpu_runner="gpu-a100", package_manager=manager
    )
    pipeline = _yaml(project / GITLAB)
    job = pipeline["gpu-test"]
    assert job["tags"] == ["gpu-a100"]
    # The CPU jobs' install (the lock), then the swap to the CUDA build.
    assert job["before_script"][0] == [".python", "before_script"]
    assert "torch==$version" in job["before_script"][1]
    prefix = "uv run --no-sync " if manager == "uv" else ""
    check, tests, train = job["script"]
    assert "torch.cuda.is_available()" in check
    assert tests == f"{prefix}pytest -m gpu -rs"
    assert train.startswith(f"{prefix}python -m demo_model.train")
    # Its own cache: the CUDA build never reaches the CPU jobs' cache.
    assert job["cache"]["key"]["prefix"] != pipeline[".python"]["cache"]["key"]["prefix"]


def _cuda_install_script(project: Path, provider: str) -> str:
    if provider == "github":
        steps = _yaml(project / WORKFLOW)["jobs"]["gpu-test"]["steps"]
        return str(next(s["run"] for s in steps if s["name"].startswith("Install the CUDA build")))
    return str(_yaml(project / GITLAB)["gpu-test"]["before_script"][1])


def _run_with_stubs(project: Path, script: str, tmp_path: Path) -> tuple[int, str, list[str]]:
    """Run ``script`` in ``project`` with ``uv`` and ``python`` stubs that log their arguments."""
    stubs, log = tmp_path / "stubs", tmp_path / "calls.log"
    stubs.mkdir()
    for tool in ("uv", "python"):
        stub = stubs / tool
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n')
        stub.chmod(0o755)
    proc = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}", "LC_ALL": "C"},
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return proc.returncode, proc.stdout + proc.stderr, calls


@pytest.mark.parametrize("provider", ["github", "gitlab"])
@pytest.mark.parametrize("manager", ["uv", "pip"])
def test_the_gpu_job_installs_the_cuda_build_of_the_locked_torch_version(
    render: Callable[..., Path], tmp_path: Path, provider: str, manager: str
) -> None:
    project = render(
        ci_provider=provider, framework="pytorch", gpu_runner="gpu-a100", package_manager=manager
    )
    lock = "uv.lock" if manager == "uv" else "requirements-dev.lock"
    (project / lock).write_text(UV_LOCK if manager == "uv" else PIP_LOCK)

    code, output, calls = _run_with_stubs(
        project, _cuda_install_script(project, provider), tmp_path
    )

    assert code == 0, output
    assert f"{lock} pins torch 2.9.1: installing its CUDA build from PyPI" in output
    if manager == "uv":
        assert calls == [
            "uv pip install --reinstall-package torch --default-index https://pypi.org/simple "
            "torch==2.9.1"
        ]
    else:
        assert calls == [
            "python -m pip uninstall --yes torch",
            "python -m pip install --index-url https://pypi.org/simple torch==2.9.1",
        ]


@pytest.mark.parametrize("provider", ["github", "gitlab"])
@pytest.mark.parametrize(("locked", "found"), [((), "none"), (("2.8.0+cpu", "2.9.1+cpu"), "2.8.0")])
def test_the_gpu_job_fails_when_the_lock_pins_no_single_torch(
    render: Callable[..., Path],
    tmp_path: Path,
    provider: str,
    locked: tuple[str, ...],
    found: str,
) -> None:
    project = render(
        ci_provider=provider, framework="pytorch", gpu_runner="gpu-a100", package_manager="pip"
    )
    # No torch at all, or two different versions.
    pins = "".join(f"torch=={version} \\\n    --hash=sha256:00\n" for version in locked)
    (project / "requirements-dev.lock").write_text("numpy==2.3.5 \\\n    --hash=sha256:11\n" + pins)

    code, output, calls = _run_with_stubs(
        project, _cuda_install_script(project, provider), tmp_path
    )

    assert code == 1
    assert f"requirements-dev.lock must pin exactly one torch version; found: {found}" in output
    assert calls == []


# --- the GPU tests ---------------------------------------------------------------------

# Just enough of torch for the starter to import, with no CUDA device: what torch reports
# on a machine without a GPU (a real CPU-only torch cannot be installed offline here).
_NO_CUDA_TORCH = """\
from types import SimpleNamespace

__version__ = "2.9.1+cpu"
version = SimpleNamespace(cuda=None)
cuda = SimpleNamespace(is_available=lambda: False, device_count=lambda: 0)
device = Tensor = object
nn = SimpleNamespace(Module=object)
"""


def _no_cuda_env(project: Path, tmp_path: Path) -> dict[str, str]:
    """An environment whose ``python`` is this one, with the project and a no-CUDA torch."""
    fake = tmp_path / "fake-torch"
    (fake / "torch").mkdir(parents=True)
    (fake / "torch" / "__init__.py").write_text(_NO_CUDA_TORCH)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(sys.executable)
    return {
        "PATH": os.pathsep.join([str(tmp_path / "bin"), os.environ["PATH"]]),
        "PYTHONPATH": os.pathsep.join([str(project / "src"), str(fake)]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_the_gpu_job_fails_where_torch_sees_no_gpu(
    render: Callable[..., Path], tmp_path: Path, provider: str
) -> None:
    project = render(
        ci_provider=provider, framework="pytorch", gpu_runner="gpu-a100", package_manager="pip"
    )
    if provider == "github":
        steps = _yaml(project / WORKFLOW)["jobs"]["gpu-test"]["steps"]
        check = next(s["run"] for s in steps if s["name"] == "Check that torch sees the GPU")
    else:
        check = _yaml(project / GITLAB)["gpu-test"]["script"][0]
    proc = subprocess.run(
        ["bash", "-e", "-c", check],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env=_no_cuda_env(project, tmp_path),
    )
    assert proc.returncode == 1
    assert "torch 2.9.1+cpu, CUDA None, 0 GPU(s)" in proc.stdout
    assert "error: torch sees no CUDA device" in proc.stderr


def test_the_gpu_tests_are_collected_under_their_marker_and_skipped_without_cuda(
    render: Callable[..., Path], tmp_path: Path
) -> None:
    project = render(framework="pytorch", gpu_runner="gpu-a100")
    env = _no_cuda_env(project, tmp_path)
    proc = subprocess.run(
        # --strict-markers: the gpu marker is registered in pyproject.toml.
        [*PYTEST, "--strict-markers", "-m", "gpu", "-rs", str(GPU_TESTS)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reason = "no CUDA device: torch.cuda.is_available() is False"
    skipped = [line for line in proc.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 2, proc.stdout
    assert all(line.endswith(reason) for line in skipped), proc.stdout
    assert "2 skipped" in proc.stdout

    deselected = subprocess.run(
        [*PYTEST, "-m", "not gpu", "--collect-only", "-q", str(GPU_TESTS)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert "2 deselected" in deselected.stdout, deselected.stdout
