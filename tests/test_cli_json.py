"""`--json` on every command that reports: one JSON object on stdout, errors included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlrig import new
from tests.configenv import isolate
from tests.conftest import run_cli, tree
from tests.gallery import make_no_ci
from tests.templaterepo import TemplateRepo, commit_project, git

README_V1 = "# {{ project }}\n\n" + "".join(f"line {i}\n" for i in range(1, 11))
README_V2 = README_V1.replace("line 8\n", "line 8 improved by v2\n")
QUESTIONS = "project:\n  type: str\n  default: demo\n"


def _json(stdout: str) -> dict[str, Any]:
    """The whole of stdout, which must be exactly one JSON object."""
    data = json.loads(stdout)
    assert isinstance(data, dict)
    return data


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project made from v1 of a template that has a v2."""
    repo = TemplateRepo(tmp_path / "template")
    repo.release("v1", QUESTIONS, {"README.md.jinja": README_V1})
    repo.release("v2", QUESTIONS, {"README.md.jinja": README_V2})
    dest = tmp_path / "work" / "proj"
    new(dest, answers={"project": "proj"}, template=repo.path, ref="v1")
    return dest


def test_update_json_reports_updated_then_current(project: Path) -> None:
    result = run_cli("update", str(project), "--json")
    assert result.exit_code == 0, result.stderr
    report = _json(result.stdout)
    assert report["status"] == "updated"
    assert (report["from"], report["to"], report["conflicts"]) == ("v1", "v2", [])
    assert report["applied"] is True
    assert {"status": "changed", "path": "README.md"} in report["changes"]
    commit_project(project)

    again = _json(run_cli("update", str(project), "--json").stdout)
    assert (again["status"], again["from"], again["to"]) == ("current", "v2", "v2")


def test_update_json_reports_conflicts_and_exits_1(project: Path) -> None:
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("line 8\n", "line 8 by the team\n"))
    commit_project(project)
    result = run_cli("update", str(project), "--json")
    assert result.exit_code == 1
    report = _json(result.stdout)
    assert report["status"] == "conflicts"
    assert report["conflicts"] == ["README.md"]
    assert (report["from"], report["to"]) == ("v1", "v2")


def test_update_preview_json_changes_nothing(project: Path) -> None:
    result = run_cli("update", str(project), "--preview", "--json")
    assert result.exit_code == 0, result.stderr
    report = _json(result.stdout)
    assert (report["status"], report["applied"]) == ("updated", False)
    assert "line 8\n" in (project / "README.md").read_text()


def test_new_json_describes_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch, tmp_path)
    dest = tmp_path / "demo"
    result = run_cli("new", str(dest), "--defaults", "--json")
    assert result.exit_code == 0, result.stderr
    report = _json(result.stdout)
    assert report["status"] == "created"
    assert report["dest"] == str(dest)
    assert report["commit"] == git(dest, "rev-parse", "HEAD")
    assert ".copier-answers.yml" in report["files"]
    assert "src/demo/train.py" in report["files"]

    dry = run_cli("new", str(tmp_path / "dry"), "--defaults", "--dry-run", "--json")
    assert _json(dry.stdout)["status"] == "dry_run"
    assert not (tmp_path / "dry").exists()


def test_new_json_never_prompts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even in a terminal: a prompt would land in the JSON; the missing answers are listed."""
    isolate(monkeypatch, tmp_path)
    monkeypatch.setattr("mlrig.cli._common.stdin_is_terminal", lambda: True)
    result = run_cli("new", str(tmp_path / "demo"), "--json", input="\n" * 20)
    assert result.exit_code == 2
    error = _json(result.stdout)["error"]
    assert "no answer for project_name" in error["message"]
    assert not (tmp_path / "demo").exists()


def test_adopt_and_add_json_list_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch, tmp_path)
    repo = make_no_ci(tmp_path / "repos")
    before = tree(repo)
    result = run_cli("adopt", str(repo), "--preview", "--json")
    assert result.exit_code == 0, result.stderr
    report = _json(result.stdout)
    assert report["preview"] is True
    files = {f["path"]: f["action"] for f in report["files"]}
    assert files[".github/workflows/ci.yml"] == "write"
    assert report["inferred"]["project_name"]["value"] == "iris-clf"
    assert report["answers"]["existing_repo"] is True
    assert tree(repo) == before

    added = run_cli("add", "ci", str(repo), "--json")
    assert added.exit_code == 0, added.stderr
    report = _json(added.stdout)
    assert (report["component"], report["preview"]) == ("ci", False)
    assert (repo / ".github/workflows/ci.yml").is_file()


@pytest.mark.parametrize(
    ("args", "code", "kind"),
    [
        (["check", "{tmp}", "--json"], 2, "invalid_input"),
        (["update", "{tmp}", "--json"], 2, "invalid_input"),
        (["doctor", "{tmp}/missing", "--json"], 2, "invalid_input"),
        (["new", "{tmp}/file", "--defaults", "--json"], 2, "invalid_input"),
        (["adopt", "{tmp}", "--json"], 2, "invalid_input"),
        (["add", "ci", "{tmp}", "--json"], 2, "invalid_input"),
        (["fleet", "check", "{tmp}/missing", "--json"], 2, "invalid_input"),
        (["template", "test", "{tmp}/missing", "--json"], 2, "invalid_input"),
        (["update", "--json", "--bogus"], 2, "usage"),
        (["add", "nothing", "--json"], 2, "usage"),
    ],
    ids=lambda value: value[0] if isinstance(value, list) else None,
)
def test_errors_under_json_are_one_json_object_on_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], code: int, kind: str
) -> None:
    isolate(monkeypatch, tmp_path)
    (tmp_path / "file").write_text("x\n")
    result = run_cli(*[arg.format(tmp=tmp_path) for arg in args])
    assert result.exit_code == code
    error = _json(result.stdout)["error"]
    assert (error["exit_code"], error["kind"]) == (code, kind)
    assert error["message"]
    # The same message, as one line, for the human reading the log.
    assert result.stderr == f"mlrig: error: {error['message']}\n"


def test_an_interrupt_under_json_is_json_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(_dest: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("mlrig.commands.check.check", interrupted)
    result = run_cli("check", str(tmp_path), "--json")
    assert result.exit_code == 130
    error = _json(result.stdout)["error"]
    assert (error["exit_code"], error["kind"]) == (130, "interrupted")
    assert result.stderr == "mlrig: interrupted; nothing was written\n"


def test_update_progress_goes_to_a_terminal_stderr_never_into_json(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mlrig.cli._common.stderr_is_terminal", lambda: True)
    result = run_cli("update", str(project), "--json")
    assert result.exit_code == 0, result.stderr
    assert _json(result.stdout)["status"] == "updated"
    phases = result.stderr.splitlines()
    assert "mlrig: merging template v1 -> v2 with your changes (copier)..." in phases
    assert phases[-1] == "mlrig: writing the result into proj..."


def test_no_progress_when_stderr_is_not_a_terminal(project: Path) -> None:
    result = run_cli("update", str(project))
    assert result.exit_code == 0
    assert result.stderr == ""


def test_new_progress_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch, tmp_path)
    monkeypatch.setattr("mlrig.cli._common.stderr_is_terminal", lambda: True)
    result = run_cli("new", str(tmp_path / "demo"), "--defaults")
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[:3] == [
        "mlrig: rendering the project...",
        "mlrig: locking the dependencies (uv)...",
        "mlrig: making the initial commit...",
    ]
    # The rest are warnings (the test session has no uv to lock with), never progress.
    assert lines[3:]
    assert all(line.startswith("mlrig: warning: ") for line in lines[3:])


def test_adopt_progress_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch, tmp_path)
    monkeypatch.setattr("mlrig.cli._common.stderr_is_terminal", lambda: True)
    repo = make_no_ci(tmp_path / "repos")
    result = run_cli("adopt", str(repo), "--preview", "--json")
    assert result.exit_code == 0, result.stderr
    assert _json(result.stdout)["preview"] is True
    assert result.stderr.splitlines() == [
        "mlrig: reading what the repository runs...",
        "mlrig: rendering the pipelines and merging them into yours...",
    ]
