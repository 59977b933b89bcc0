"""Every valid answer combination renders to files that pass every validator.

The choice and yes/no questions are multiplied (readable ids such as
``both-uv-pytorch-docker-f1``); the free-form ones (Python version, GPU runner,
monitoring schedule) rotate across the combinations so each value is covered
without multiplying the matrix. Every combination of the choices is valid today,
so no validity filter is needed.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mlrig.validate import validate_tree

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

CHOICES: dict[str, list[object]] = {
    "ci_provider": ["github", "gitlab", "both"],
    "package_manager": ["uv", "pip"],
    "framework": ["sklearn", "pytorch", "none"],
    "docker": [True, False],
    "gate_metric": ["accuracy", "f1"],
}
ROTATING: dict[str, list[object]] = {
    "python_version": ["3.10", "3.11", "3.12", "3.13"],
    "gpu_runner": ["none", "gpu-a100", "none"],
    "monitoring_schedule": ["0 6 * * 1", "none", "*/30 2 1-7 JAN,JUL MON-FRI"],
}


def _combinations() -> list[dict[str, object]]:
    combos = []
    for index, values in enumerate(itertools.product(*CHOICES.values())):
        combo = dict(zip(CHOICES, values, strict=True))
        for key, options in ROTATING.items():
            combo[key] = options[index % len(options)]
        combos.append(combo)
    return combos


def _id(combo: dict[str, object]) -> str:
    docker = "docker" if combo["docker"] else "nodocker"
    gpu = "-gpu" if combo["gpu_runner"] != "none" else ""
    monitor = "-monitor" if combo["monitoring_schedule"] != "none" else ""
    return (
        f"{combo['ci_provider']}-{combo['package_manager']}-{combo['framework']}-{docker}-"
        f"{combo['gate_metric']}-py{combo['python_version']}{gpu}{monitor}"
    )


COMBINATIONS = _combinations()


@pytest.mark.parametrize("answers", COMBINATIONS, ids=[_id(c) for c in COMBINATIONS])
def test_combination_renders_clean(render: Callable[..., Path], answers: dict[str, object]) -> None:
    project = render(**answers)
    findings = validate_tree(project)
    assert not findings, "\n".join(map(str, findings))

    github = answers["ci_provider"] in ("github", "both")
    gitlab = answers["ci_provider"] in ("gitlab", "both")
    monitor = answers["monitoring_schedule"] != "none"
    expected = {
        ".github/workflows/ci.yml": github,
        ".github/workflows/monitor.yml": github and monitor,
        ".github/workflows/template-sync.yml": github,
        ".github/dependabot.yml": github,
        ".github/actionlint.yaml": github and answers["gpu_runner"] != "none",
        ".gitlab-ci.yml": gitlab,
        "Dockerfile": answers["docker"],
        ".dockerignore": answers["docker"],
        "pyproject.toml": True,
        "README.md": True,
        ".pre-commit-config.yaml": True,
        ".copier-answers.yml": True,
        "src/demo_model/train.py": True,
        "src/demo_model/evaluate.py": True,
        "src/demo_model/data.py": True,
        "tests/test_train.py": True,
    }
    present = {name: (project / name).is_file() for name in expected}
    assert present == expected

    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == f">={answers['python_version']}"
    config = (project / "src" / "demo_model" / "config.py").read_text()
    assert repr(answers["gate_metric"]).replace("'", '"') in config
    if gitlab and monitor:
        assert str(answers["monitoring_schedule"]) in (project / "README.md").read_text()
