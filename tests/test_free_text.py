"""Free-text answers are data: they never become YAML structure, a CI expression or shell."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from mlrig.validate import validate_trees

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

NASTY = (
    'Predicts "churn": fast # really\n'
    "second line with {{ 7*7 }} and {% raw %} and ${{ secrets.DEPLOY_TOKEN }}\n"
    "$(rm -rf /) `id` ; echo pwned && exit 1 | tee /etc/passwd 'quoted' \\ back\\slash\r\n"
    "\tünïcødé 🐍 <b>html</b>"
)
CI_FILES = [
    ".github/workflows/ci.yml",
    ".github/workflows/monitor.yml",
    ".github/workflows/template-sync.yml",
    ".github/dependabot.yml",
    ".gitlab-ci.yml",
    "Dockerfile",
]


def test_hostile_description_stays_text(
    render: Callable[..., Path], subtests: pytest.Subtests
) -> None:
    managers = ("uv", "pip")
    projects = [
        render(description=NASTY, ci_provider="both", package_manager=manager)
        for manager in managers
    ]
    found = validate_trees(projects, answers=[[NASTY]] * len(projects))
    for manager, project, findings in zip(managers, projects, found, strict=True):
        with subtests.test(manager):
            assert findings == []
            _stays_text(project)


def _stays_text(project: Path) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["description"] == NASTY.replace("\r\n", " ").replace("\n", " ")
    recorded = YAML(typ="safe").load((project / ".copier-answers.yml").read_text())
    assert recorded["description"] == NASTY

    for name in CI_FILES:
        text = (project / name).read_text()
        assert "DEPLOY_TOKEN" not in text, name
        assert "rm -rf" not in text, name
