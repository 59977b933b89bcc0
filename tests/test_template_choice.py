"""One trust rule for new, adopt and update: ``--trust``, or a trusted prefix in the user config.

The template's task touches a marker file outside every project: it is ABSENT when
the template is not trusted, and present when the user config trusts its URL, for
each of the three commands.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.configenv import isolate, write_user_config
from tests.conftest import run_cli
from tests.templaterepo import TemplateRepo, commit_project, git

QUESTION = "x:\n  type: int\n  default: 1\n"
FILES = {"x.txt.jinja": "x is {{ x }}\n"}


@pytest.fixture
def config_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path / "env")


def _template(root: Path, marker: Path) -> TemplateRepo:
    """v1 runs nothing; v2 adds a task that touches ``marker``."""
    template = TemplateRepo(root / "house" / "ml")
    template.release("v1", QUESTION, FILES)
    template.release("v2", f"_tasks:\n  - touch {marker}\n{QUESTION}", FILES)
    return template


def _run(command: str, template: TemplateRepo, work: Path) -> int:
    """Run ``command`` against v2 of ``template``; return its exit code."""
    if command == "new":
        made = run_cli("new", str(work / "p"), "--template", str(template.path), "--defaults")
        return made.exit_code
    if command == "adopt":
        repo = work / "repo"
        repo.mkdir(parents=True)
        (repo / "README.md").write_text("# demo\n")
        git(repo, "init", "--quiet", "--initial-branch=main")
        commit_project(repo, "init")
        return run_cli("adopt", str(repo), "--template", str(template.path)).exit_code
    # update: a project on v1 (which runs nothing), then to v2.
    dest = work / "p"
    made = run_cli("new", str(dest), "--template", f"{template.path}@v1", "--defaults")
    assert made.exit_code == 0, made.output
    return run_cli("update", str(dest)).exit_code


@pytest.mark.parametrize("command", ["new", "adopt", "update"])
def test_a_template_the_user_config_does_not_trust_runs_nothing(
    command: str, tmp_path: Path, config_home: Path
) -> None:
    marker = tmp_path / "MARKER"
    template = _template(tmp_path, marker)
    write_user_config(config_home, f"trusted_prefixes: ['{tmp_path}/elsewhere/']\n")
    assert _run(command, template, tmp_path / "work") == 2
    assert not marker.exists()


@pytest.mark.parametrize("command", ["new", "adopt", "update"])
def test_a_trusted_prefix_in_the_user_config_lets_the_template_run_its_tasks(
    command: str, tmp_path: Path, config_home: Path
) -> None:
    marker = tmp_path / "MARKER"
    template = _template(tmp_path, marker)
    write_user_config(config_home, f"trusted_prefixes: ['{tmp_path}/house/']\n")
    assert _run(command, template, tmp_path / "work") == 0
    assert marker.exists()
