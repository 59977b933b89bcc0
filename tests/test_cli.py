"""The CLI as a user meets it: exit codes, one-line errors, nothing written on failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import mlrig.cli
from mlrig import __version__
from tests.conftest import run_cli, tree


def test_help_lists_every_question() -> None:
    result = run_cli("new", "--help")
    assert result.exit_code == 0
    for key in ("project_name", "framework", "gate_threshold", "--dry-run", "--answers-file"):
        assert key in result.stdout


def test_version() -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert "mlrig, version" in result.stdout


def test_new_with_defaults_makes_a_committed_git_repo(tmp_path: Path) -> None:
    dest = tmp_path / "churn-model"
    result = run_cli("new", str(dest), "--defaults")
    assert result.exit_code == 0, result.stderr
    assert "Created" in result.stdout
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=dest, capture_output=True, text=True, check=True
    )
    assert log.stdout.splitlines() == [f"Initial commit from mlrig {__version__}"]
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=dest, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""
    branch = subprocess.run(
        ["git", "branch", "--show-current"], cwd=dest, capture_output=True, text=True, check=True
    )
    assert branch.stdout.strip() == "main"
    assert "project_name: churn-model" in (dest / ".copier-answers.yml").read_text()
    # No staging directory is left beside the project.
    assert [p.name for p in tmp_path.iterdir()] == ["churn-model"]


def test_no_git(tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    result = run_cli("new", str(dest), "--defaults", "--no-git")
    assert result.exit_code == 0, result.stderr
    assert not (dest / ".git").exists()
    assert (dest / ".copier-answers.yml").is_file()


def test_existing_empty_directory_is_used(tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    dest.mkdir()
    result = run_cli("new", str(dest), "--defaults")
    assert result.exit_code == 0, result.stderr
    assert (dest / ".git").is_dir()
    assert (dest / "pyproject.toml").is_file()


def test_missing_parents_are_created(tmp_path: Path) -> None:
    dest = tmp_path / "a" / "b" / "proj"
    assert run_cli("new", str(dest), "--defaults", "--no-git").exit_code == 0
    assert (dest / "pyproject.toml").is_file()


def test_dry_run_lists_files_and_writes_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    result = run_cli("new", str(dest), "--defaults", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "Would create" in result.stdout
    assert "  pyproject.toml" in result.stdout.splitlines()
    assert "  .copier-answers.yml" in result.stdout.splitlines()
    assert tree(tmp_path) == []


def test_answers_file_and_data_override(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text("_src_path: elsewhere\nframework: none\nci_provider: gitlab\ndocker: no\n")
    dest = tmp_path / "proj"
    result = run_cli(
        "new", str(dest), "--answers-file", str(answers), "-d", "ci_provider=both", "--defaults"
    )
    assert result.exit_code == 0, result.stderr
    recorded = (dest / ".copier-answers.yml").read_text()
    assert "framework: none" in recorded
    assert "ci_provider: both" in recorded
    assert "docker: false" in recorded


def test_answers_file_with_every_answer_needs_no_defaults(tmp_path: Path) -> None:
    first = tmp_path / "first"
    assert (
        run_cli("new", str(first), "--defaults", "-d", "framework=none", "--no-git").exit_code == 0
    )
    second = tmp_path / "second"
    result = run_cli("new", str(second), "--answers-file", str(first / ".copier-answers.yml"))
    assert result.exit_code == 0, result.stderr
    assert "framework: none" in (second / ".copier-answers.yml").read_text()
    assert "project_name: first" in (second / ".copier-answers.yml").read_text()


def test_without_a_terminal_missing_answers_are_listed(tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    result = run_cli("new", str(dest), "-d", "framework=none")
    assert result.exit_code == 2
    assert "no answer for project_name, description, python_version" in result.stderr
    assert "framework," not in result.stderr
    assert "--defaults" in result.stderr
    assert tree(tmp_path) == []


def test_prompts_in_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mlrig.cli, "_stdin_is_terminal", lambda: True)
    dest = tmp_path / "proj"
    # project name, description, python, provider, manager, framework (first a bad one),
    # docker, gpu, schedule, metric, threshold
    replies = [
        "",
        "My desc",
        "3.11",
        "gitlab",
        "pip",
        "tensorflow",
        "none",
        "n",
        "",
        "none",
        "f1",
        "0.7",
    ]
    result = run_cli("new", str(dest), "--no-git", input="\n".join(replies) + "\n")
    assert result.exit_code == 0, result.stderr
    assert "is not one of: sklearn, pytorch, none" in result.output
    recorded = (dest / ".copier-answers.yml").read_text()
    for line in (
        "project_name: proj",
        "description: My desc",
        "python_version: '3.11'",
        "ci_provider: gitlab",
        "package_manager: pip",
        "framework: none",
        "docker: false",
        "monitoring_schedule: none",
        "gate_metric: f1",
        "gate_threshold: 0.7",
    ):
        assert line in recorded


def test_unreachable_gate_threshold_is_warned_about(tmp_path: Path) -> None:
    result = run_cli(
        "new", str(tmp_path / "p"), "--defaults", "--no-git", "-d", "gate_threshold=0.99"
    )
    assert result.exit_code == 0
    assert "warning: the starter model scores accuracy 0.95, below the gate threshold 0.99" in (
        result.stderr
    )
    quiet = run_cli("new", str(tmp_path / "q"), "--defaults", "--no-git")
    # (The quick loop finds no uv, so the no-lock warning is there: tests/conftest.py.)
    assert "gate threshold" not in quiet.stderr


BAD_INPUTS = {
    "empty-name": (["-d", "project_name="], "project_name"),
    "name-starts-with-digit": (["-d", "project_name=1model"], "project_name"),
    "name-with-space": (["-d", "project_name=my model"], "project_name"),
    "name-with-punctuation": (["-d", "project_name=model!"], "project_name"),
    "name-with-separator": (["-d", "project_name=a/b"], "project_name"),
    "name-dotdot": (["-d", "project_name=.."], "project_name"),
    "name-too-long": (["-d", "project_name=" + "m" * 65], "at most 64 characters"),
    "unknown-key": (["-d", "colour=red"], "unknown question 'colour'"),
    "not-key-value": (["-d", "framework"], "is not KEY=VALUE"),
    "bad-choice": (["-d", "framework=tensorflow"], "is not one of: sklearn, pytorch, none"),
    "bad-bool": (["-d", "docker=perhaps"], "is not yes or no"),
    "bad-threshold": (["-d", "gate_threshold=2"], "between 0 and 1"),
    "bad-cron": (["-d", "monitoring_schedule=every day"], "cron"),
    "missing-answers-file": (["--answers-file", "{tmp}/nope.yml"], "does not exist"),
    "malformed-answers-file": (["--answers-file", "{tmp}/bad.yml"], "not valid YAML"),
    "answers-file-unknown-key": (["--answers-file", "{tmp}/unknown.yml"], "unknown question"),
}


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_exits_2_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "bad.yml").write_text("framework: [oops\n")
    (inputs / "unknown.yml").write_text("flavour: vanilla\n")
    work = tmp_path / "work"
    work.mkdir()
    args = [arg.replace("{tmp}", str(inputs)) for arg in args]
    result = run_cli("new", str(work / "proj"), "--defaults", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert tree(work) == []


def test_error_is_one_line(tmp_path: Path) -> None:
    result = run_cli("new", str(tmp_path / "p"), "--defaults", "-d", "framework=x")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("mlrig: error: ")


def test_destination_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    result = run_cli("new", str(target), "--defaults")
    assert result.exit_code == 2
    assert "is not a directory" in result.stderr
    assert target.read_text() == "keep me"


def test_non_empty_destination_points_to_existing_repo_commands(tmp_path: Path) -> None:
    dest = tmp_path / "repo"
    dest.mkdir()
    (dest / "train.py").write_text("print('mine')\n")
    result = run_cli("new", str(dest), "--defaults")
    assert result.exit_code == 2
    assert "is not empty" in result.stderr
    assert "mlrig adopt" in result.stderr
    assert tree(dest) == ["train.py"]


def test_missing_git_is_an_environment_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    work = tmp_path / "work"
    work.mkdir()
    result = run_cli("new", str(work / "proj"), "--defaults")
    assert result.exit_code == 3
    assert "git is not installed" in result.stderr
    assert "--no-git" in result.stderr
    assert tree(work) == []


def test_interrupt_mid_render_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copier

    real_run_copy = copier.run_copy

    def interrupted(src: str, dst: Path, **kwargs: Any) -> None:
        real_run_copy(src, dst, **kwargs)  # files are on disk now...
        raise KeyboardInterrupt  # ...and the user presses Ctrl-C

    monkeypatch.setattr(copier, "run_copy", interrupted)
    work = tmp_path / "work"
    work.mkdir()
    result = run_cli("new", str(work / "deep" / "proj"), "--defaults")
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
    assert tree(work) == []


def test_python_dash_m(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlrig",
            "new",
            str(tmp_path / "p"),
            "-d",
            "framework=x",
            "--defaults",
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("mlrig: error: invalid answer: framework")
