"""Scenario tests for `mlrig update` and `mlrig check` on template repos at v1 -> v2 -> v3."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlrig import new
from tests.conftest import run_cli
from tests.signals import default_sigint
from tests.templaterepo import TemplateRepo, commit_project, git, status

V1_QUESTIONS = "project:\n  type: str\n  default: demo\n"
V2_QUESTIONS = V1_QUESTIONS + "license:\n  type: str\n  default: MIT\n"
V3_QUESTIONS = V1_QUESTIONS + "license:\n  type: str\n  default: Apache-2.0\n"
README_V1 = "# {{ project }}\n\nintro\n\n" + "".join(f"line {i}\n" for i in range(1, 21))
README_V2 = README_V1.replace("line 18\n", "line 18 improved by v2\n") + "License: {{ license }}\n"
README_V3 = README_V2.replace("line 19\n", "line 19 improved by v3\n")
WORKFLOW_V1 = """\
name: CI
on: push
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - run: echo test
"""
WORKFLOW_V2 = WORKFLOW_V1.replace("timeout-minutes: 10", "timeout-minutes: 20").replace(
    "      - run: echo test\n", "      - run: echo test\n      - run: echo lint\n"
)
V1 = {
    "README.md.jinja": README_V1,
    "keep.txt": "kept by every version\n",
    "old-name.txt": "renamed in v2\n",
    "gone.txt": "removed in v2\n",
    "user-deletes-me.txt": "the user deletes this file\n",
    "{{ project }}.cfg.jinja": "name = {{ project }}\n",
    ".github/workflows/ci.yml": WORKFLOW_V1,
}
V2 = {
    **{k: v for k, v in V1.items() if k not in ("old-name.txt", "gone.txt")},
    "README.md.jinja": README_V2,
    "new-name.txt": "renamed in v2\n",
    "added.txt": "added in v2\n",
    "{{ project }}.cfg.jinja": "name = {{ project }}\nversion = 2\n",
    ".github/workflows/ci.yml": WORKFLOW_V2,
}
V3 = {**V2, "README.md.jinja": README_V3}


@pytest.fixture
def template(tmp_path: Path) -> TemplateRepo:
    repo = TemplateRepo(tmp_path / "template")
    repo.release("v1", V1_QUESTIONS, V1)
    repo.release("v2", V2_QUESTIONS, V2)
    repo.release("v3", V3_QUESTIONS, V3)
    return repo


@pytest.fixture
def project(tmp_path: Path, template: TemplateRepo) -> Path:
    """A project generated from v1, with git history."""
    dest = tmp_path / "work" / "myproj"
    new(dest, answers={"project": "myproj"}, template=template.path, ref="v1")
    return dest


def _edit(project: Path, name: str, old: str, new_text: str) -> None:
    path = project / name
    path.write_text(path.read_text().replace(old, new_text))


def _recorded(project: Path) -> str:
    return (project / ".copier-answers.yml").read_text()


def test_update_brings_template_changes_and_keeps_local_work(project: Path) -> None:
    _edit(project, "README.md", "intro\n", "intro written by the team\n")
    (project / "user-deletes-me.txt").unlink()
    (project / "team-notes.txt").write_text("ours\n")
    commit_project(project)

    result = run_cli("update", str(project), "--to", "v2")
    assert result.exit_code == 0, result.output
    assert "template v1 -> v2" in result.stdout

    readme = (project / "README.md").read_text()
    assert "intro written by the team" in readme  # local edit far from the change: kept
    assert "line 18 improved by v2" in readme  # template change: applied
    assert "License: MIT" in readme  # new question: its default
    assert (project / "added.txt").is_file()  # added by the template
    assert not (project / "gone.txt").exists()  # removed by the template
    assert not (project / "old-name.txt").exists()  # renamed by the template
    assert (project / "new-name.txt").read_text() == "renamed in v2\n"
    assert (project / "myproj.cfg").read_text() == "name = myproj\nversion = 2\n"  # Jinja name
    assert not (project / "user-deletes-me.txt").exists()  # deleted by the user: stays deleted
    assert (project / "team-notes.txt").read_text() == "ours\n"
    workflow = (project / ".github/workflows/ci.yml").read_text()
    assert "timeout-minutes: 20" in workflow
    assert "echo lint" in workflow
    recorded = _recorded(project)
    assert "_commit: v2" in recorded
    assert "license: MIT" in recorded
    # Left uncommitted for review.
    assert status(project)


def test_update_across_two_versions_at_once(project: Path) -> None:
    result = run_cli("update", str(project))
    assert result.exit_code == 0, result.output
    readme = (project / "README.md").read_text()
    assert "line 18 improved by v2" in readme
    assert "line 19 improved by v3" in readme
    # A changed default applies to new answers only; v3 asked license for the first time.
    assert "License: Apache-2.0" in readme
    assert "_commit: v3" in _recorded(project)


def test_changed_default_keeps_the_recorded_answer(project: Path) -> None:
    assert run_cli("update", str(project), "--to", "v2").exit_code == 0
    commit_project(project, "update to v2")
    assert run_cli("update", str(project), "--to", "v3").exit_code == 0
    assert "License: MIT" in (project / "README.md").read_text()
    assert "license: MIT" in _recorded(project)


def test_edit_on_the_same_lines_is_a_reported_conflict(project: Path) -> None:
    _edit(project, "README.md", "line 18\n", "line 18 rewritten by the team\n")
    commit_project(project)
    result = run_cli("update", str(project), "--to", "v2")
    assert result.exit_code == 1
    assert "conflict README.md" in " ".join(result.stdout.split())
    assert "1 files have conflicts" in result.stderr
    readme = (project / "README.md").read_text()
    assert "<<<<<<< before updating" in readme
    assert "line 18 rewritten by the team" in readme
    assert "line 18 improved by v2" in readme


def test_conflicts_as_rej_files(project: Path) -> None:
    _edit(project, "README.md", "line 18\n", "line 18 rewritten by the team\n")
    commit_project(project)
    result = run_cli("update", str(project), "--to", "v2", "--conflict", "rej")
    assert result.exit_code == 1
    assert "README.md" in result.stderr
    assert (project / "README.md.rej").is_file()
    assert "<<<<<<<" not in (project / "README.md").read_text()


def test_preview_lists_changes_and_changes_nothing(project: Path) -> None:
    _edit(project, "README.md", "line 18\n", "line 18 rewritten by the team\n")
    commit_project(project)
    head = git(project, "rev-parse", "HEAD")
    before = {
        p: p.read_bytes() for p in project.rglob("*") if p.is_file() and ".git" not in p.parts
    }
    result = run_cli("update", str(project), "--preview")
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    for expected in (
        "added added.txt",
        "deleted gone.txt",
        "added new-name.txt",
        "deleted old-name.txt",
        "changed .github/workflows/ci.yml",
        "conflict README.md",
        "changed .copier-answers.yml",
    ):
        assert expected in lines
    assert "Preview only: nothing was changed." in result.stdout
    after = {p: p.read_bytes() for p in project.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert after == before
    assert status(project) == []
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "worktree", "list").count("\n") == 0  # the scratch worktree is gone


def test_already_current(project: Path) -> None:
    assert run_cli("update", str(project)).exit_code == 0
    commit_project(project)
    result = run_cli("update", str(project))
    assert result.exit_code == 0
    assert "is on the newest template version v3" in result.stdout


def test_dirty_tree_is_refused(project: Path) -> None:
    _edit(project, "keep.txt", "kept", "edited but not committed")
    (project / "untracked.txt").write_text("new\n")
    result = run_cli("update", str(project))
    assert result.exit_code == 3
    assert "uncommitted changes" in result.stderr
    assert "git stash" in result.stderr
    assert "e.g. keep.txt" in result.stderr
    assert sorted(line.split()[-1] for line in status(project)) == ["keep.txt", "untracked.txt"]
    assert "_commit: v1" in _recorded(project)


def test_pipeline_broken_by_the_update_is_reported(tmp_path: Path, template: TemplateRepo) -> None:
    broken = WORKFLOW_V2.replace("permissions: {}\n", "permissions: {}\npermissions: {}\n")
    template.release("v4", V3_QUESTIONS, {**V3, ".github/workflows/ci.yml": broken})
    dest = tmp_path / "p4"
    new(dest, answers={"project": "p4"}, template=template.path, ref="v3")
    result = run_cli("update", str(dest))
    assert result.exit_code == 1
    assert "invalid pipeline after the merge" in result.stderr
    assert "ci.yml" in result.stderr


BAD_UPDATES = {
    "unknown-version": (["--to", "v9"], 2, "does not exist; available: v1, v2, v3"),
    "downgrade": (["--to", "v1"], 2, "downgrades are not supported"),
}


@pytest.mark.parametrize(("args", "code", "message"), BAD_UPDATES.values(), ids=BAD_UPDATES.keys())
def test_bad_versions(project: Path, args: list[str], code: int, message: str) -> None:
    assert run_cli("update", str(project), "--to", "v2").exit_code == 0
    commit_project(project)
    result = run_cli("update", str(project), *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert status(project) == []


def test_not_a_git_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / ".copier-answers.yml").write_text("_src_path: x\n_commit: v1\n")
    result = run_cli("update", str(plain))
    assert result.exit_code == 2
    assert "not in a git repository" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "has no .copier-answers.yml"),
        ("_src_path: [unclosed\n", "is not valid YAML"),
        ("- a list\n", "is not a YAML mapping"),
        ("project: x\n", "records no template"),
        ("_src_path: /somewhere\nproject: x\n", "records no template version"),
    ],
    ids=["missing", "malformed", "not-a-mapping", "no-src", "no-version"],
)
def test_bad_answers_file(project: Path, content: str | None, message: str) -> None:
    answers = project / ".copier-answers.yml"
    if content is None:
        answers.unlink()
    else:
        answers.write_text(content)
    commit_project(project)
    for command in ("update", "check"):
        result = run_cli(command, str(project))
        assert result.exit_code == 2, command
        assert message in result.stderr


def test_template_that_is_gone(project: Path, template: TemplateRepo, tmp_path: Path) -> None:
    template.path.rename(tmp_path / "moved")
    for command in ("update", "check"):
        result = run_cli(command, str(project))
        assert result.exit_code == 3, command
        assert "cannot reach template" in result.stderr
    assert status(project) == []


def test_check(project: Path) -> None:
    behind = run_cli("check", str(project))
    assert behind.exit_code == 1
    assert "behind its template: v1 -> v3" in behind.stdout
    report = run_cli("check", str(project), "--json")
    assert report.exit_code == 1
    assert json.loads(report.stdout) == {
        "project": str(project),
        "template": str(project.parent.parent / "template"),
        "current": "v1",
        "latest": "v3",
        "status": "behind",
    }
    assert run_cli("update", str(project)).exit_code == 0
    commit_project(project)
    current = run_cli("check", str(project))
    assert current.exit_code == 0
    assert "newest template version v3" in current.stdout


def test_plain_copier_update_still_works(project: Path) -> None:
    """The answers file is an ordinary copier one: plain `copier update` follows it too."""
    copier = Path(sys.executable).parent / "copier"
    subprocess.run(
        [str(copier), "update", "--defaults", "--skip-answered", "--vcs-ref", "v2", str(project)],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    assert (project / "added.txt").is_file()
    assert "_commit: v2" in _recorded(project)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_interrupted_update_leaves_the_repo_restorable(project: Path, sig: signal.Signals) -> None:
    head = git(project, "rev-parse", "HEAD")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlrig", "update", str(project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        preexec_fn=default_sigint,
    )
    worktrees = project / ".git" / "worktrees"
    deadline = time.monotonic() + 30
    while not worktrees.is_dir() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    assert proc.poll() is None, "the update finished before it could be interrupted"
    os.kill(proc.pid, sig)
    _, stderr = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        assert "interrupted" in stderr
        assert "is as before" in stderr
    else:
        git(project, "worktree", "prune")  # what a killed update can leave behind
    assert status(project) == []
    assert git(project, "rev-parse", "HEAD") == head
    assert "_commit: v1" in _recorded(project)
