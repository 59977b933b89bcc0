"""The CLI as a user meets it: exit codes, one-line errors, nothing written on failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

import mlrig.cli._common
from mlrig import __version__
from mlrig.cli import main
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
    assert "project_name: second" in (second / ".copier-answers.yml").read_text()


def test_without_a_terminal_missing_answers_are_listed(tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    result = run_cli("new", str(dest), "-d", "framework=none")
    assert result.exit_code == 2
    assert "no answer for project_name, description, python_version" in result.stderr
    assert "framework," not in result.stderr
    assert "--defaults" in result.stderr
    assert tree(tmp_path) == []


def test_prompts_in_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mlrig.cli._common, "stdin_is_terminal", lambda: True)
    dest = tmp_path / "proj"
    # project name, description, python, provider, manager, framework (first a bad one),
    # docker, schedule, metric, threshold, data versioning (no GPU runner: framework none
    # has no GPU path)
    replies = [
        "",
        "My desc",
        "3.11",
        "gitlab",
        "pip",
        "tensorflow",
        "none",
        "n",
        "none",
        "f1",
        "0.7",
        "",
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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["update", "--bogus"], "no such option '--bogus' (see mlrig update --help)"),
        (["new"], "missing argument 'DEST' (see mlrig new --help)"),
        (["add", "nothing"], "'nothing' is not one of 'ci', 'docker'"),
        (["fleet", "check", "--jobs", "0"], "(see mlrig fleet check --help)"),
        (["nosuch"], "no such command 'nosuch' (see mlrig --help)"),
        (["--bogus"], "no such option '--bogus' (see mlrig --help)"),
    ],
    ids=["unknown-option", "missing-argument", "bad-choice", "bad-range", "command", "top"],
)
def test_usage_errors_are_one_line_exit_2(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("mlrig: error: ")
    assert message in result.stderr


def test_no_color_turns_colour_off(tmp_path: Path) -> None:
    """https://no-color.org: NO_COLOR set and non-empty disables colour, even on a terminal."""
    args = ["update", str(tmp_path)]
    # color=True: the runner plays a terminal, where colour is on by default.
    coloured = CliRunner().invoke(main, args, color=True, env={"NO_COLOR": ""})
    assert "\x1b[" in coloured.stderr
    plain = CliRunner().invoke(main, args, color=True, env={"NO_COLOR": "1"})
    assert plain.exit_code == coloured.exit_code == 2
    assert "\x1b[" not in plain.stderr
    assert plain.stderr.startswith("mlrig: error: ")
    usage = CliRunner().invoke(main, ["--bogus"], color=True, env={"NO_COLOR": "1"})
    assert usage.stderr.startswith("mlrig: error: no such option")


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    """A committed project made from a one-file template with a version tag."""
    from mlrig import new
    from tests.templaterepo import TemplateRepo

    template = TemplateRepo(tmp_path / "template")
    template.release("v1", "project:\n  type: str\n  default: demo\n", {"README.md": "hi\n"})
    dest = tmp_path / "work" / "proj"
    new(dest, answers={}, template=template.path)
    return dest


@pytest.mark.parametrize("command", [["update"], ["check"], ["doctor"]])
def test_a_folder_inside_a_project_names_the_root(small_project: Path, command: list[str]) -> None:
    inner = small_project / "src" / "pkg"
    inner.mkdir(parents=True)
    result = run_cli(*command, str(inner))
    assert result.exit_code == 2
    assert f"inside the mlrig project {small_project}" in result.stderr
    assert f"run `mlrig {command[0]} {small_project}`" in result.stderr


@pytest.mark.parametrize("git_repo", [False, True], ids=["plain-folder", "git-repo"])
def test_update_outside_any_project_says_how_to_start(tmp_path: Path, git_repo: bool) -> None:
    folder = tmp_path / "somewhere"
    folder.mkdir()
    if git_repo:
        subprocess.run(["git", "init", "-q", str(folder)], check=True)
    result = run_cli("update", str(folder))
    assert result.exit_code == 2
    assert "is not an mlrig project" in result.stderr
    assert "mlrig new NAME" in result.stderr
    assert "mlrig adopt" in result.stderr
    assert "git repository" not in result.stderr


@pytest.mark.parametrize("command", ["update", "doctor", "adopt"])
def test_a_repository_git_refuses_names_safe_directory(
    small_project: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """git's own switch makes it treat the repository as another user's (as without root)."""
    monkeypatch.setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")
    result = run_cli(command, str(small_project))
    assert result.exit_code == 3
    assert "dubious ownership" in result.stderr
    assert f"git config --global --add safe.directory {small_project}`" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The path of every command under ``group`` that is not itself a group."""
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


@pytest.mark.parametrize("width", [80, 60])
@pytest.mark.parametrize("group", [(), ("fleet",), ("template",), ("config",)])
def test_command_summaries_are_whole_sentences(group: tuple[str, ...], width: int) -> None:
    result = CliRunner().invoke(main, [*group, "--help"], terminal_width=width)
    listing = result.stdout.split("Commands:\n", 1)[1]
    summaries: dict[str, str] = {}
    for line in listing.splitlines():
        name, _, text = line.strip().partition(" ")
        if line.startswith("  ") and not line.startswith("   "):
            summaries[name] = text.strip()
        elif line.strip():
            summaries[list(summaries)[-1]] += " " + line.strip()
    assert summaries
    for name, text in summaries.items():
        assert not text.endswith("..."), f"{name}: {text}"
        assert text.endswith("."), f"{name}: {text}"


@pytest.mark.parametrize("path", _commands(main), ids=" ".join)
def test_every_command_help_lists_its_exit_codes(path: tuple[str, ...]) -> None:
    text = " ".join(run_cli(*path, "--help").stdout.split())
    assert "Exit codes: 0 " in text
    assert "130 interrupted" in text


def test_check_of_a_missing_folder_inside_a_project_says_it_is_missing(
    small_project: Path,
) -> None:
    result = run_cli("check", str(small_project / "typo"))
    assert result.exit_code == 2
    assert "typo is not a directory" in result.stderr
    assert "inside the mlrig project" not in result.stderr


def test_only_the_cli_package_talks_to_the_terminal_through_click() -> None:
    """House rule 1: outside ``mlrig/cli/`` no module imports click (it would print or exit)."""
    import ast

    package = Path(mlrig.cli.__file__).resolve().parent.parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        if package / "cli" in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            if any(name.split(".")[0] == "click" for name in names):
                offenders.append(f"{path.relative_to(package)}:{node.lineno}")
    assert (package / "cli" / "__init__.py").is_file()
    assert offenders == []
