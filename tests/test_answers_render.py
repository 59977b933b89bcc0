"""What answers render to: the default branch, .python-version, pre-commit hooks, the
answers file of a long description, and the "Next:" line (issues 12 and 15)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from mlrig.validate import validate_trees
from tests.conftest import run_cli

WORKFLOW = ".github/workflows/ci.yml"
_STAGES = ("install", "lint", "test", "data", "train", "evaluate")


def _ci(project: Path) -> dict[str, object]:
    data = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("docker", [True, False])
def test_github_ci_names_no_branch_and_gates_every_job_on_the_default_branch(
    render: Callable[..., Path], docker: bool
) -> None:
    project = render(ci_provider="github", docker=docker, framework="pytorch", gpu_runner="gpu")
    text = (project / WORKFLOW).read_text(encoding="utf-8")
    assert "main" not in text
    ci = _ci(project)
    push = ci[True]["push"]  # type: ignore[index]  # YAML 1.1 reads `on:` as True
    assert push["branches"] == ["**"]
    assert ("tags" in push) is docker
    jobs = ci["jobs"]
    assert isinstance(jobs, dict)
    for name, job in jobs.items():
        assert "github.ref_name == github.event.repository.default_branch" in job["if"], name
    if docker:
        publish = jobs["docker"]["env"]["PUBLISH"]
        assert "github.ref_name == github.event.repository.default_branch" in publish


def test_gitlab_ci_publishes_from_the_default_branch_variable(
    render: Callable[..., Path],
) -> None:
    text = (render(ci_provider="gitlab") / ".gitlab-ci.yml").read_text(encoding="utf-8")
    assert "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in text
    assert "main" not in text.replace("domain", "")


@pytest.mark.parametrize("python", ["3.10", "3.14"])
def test_python_version_file_matches_ci(render: Callable[..., Path], python: str) -> None:
    project = render(python_version=python)
    assert (project / ".python-version").read_text(encoding="utf-8") == f"{python}\n"
    assert f'python-version: "{python}"' in (project / WORKFLOW).read_text(encoding="utf-8")


def test_existing_repositories_get_no_python_version_file(render: Callable[..., Path]) -> None:
    commands = {f"{stage}_command": "true" for stage in _STAGES}
    project = render(existing_repo=True, monitoring_schedule="none", **commands)
    assert (project / WORKFLOW).is_file()
    assert not (project / ".python-version").exists()


def test_pre_commit_hooks_install_their_own_pinned_tools(render: Callable[..., Path]) -> None:
    """No hook relies on an activated environment: each gets its tool from PyPI, pinned."""
    config = yaml.safe_load((render() / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {hook["id"] for hook in hooks} >= {"end-of-file-fixer", "ruff-check", "check-yaml"}
    for hook in hooks:
        assert hook["language"] == "python", hook["id"]
        assert all("==" in dep for dep in hook["additional_dependencies"]), hook["id"]


def test_a_long_description_keeps_the_answers_file_within_yamllint(
    render: Callable[..., Path], subtests: pytest.Subtests
) -> None:
    descriptions = [
        "A model that predicts churn for the retention team " * 3,
        "Ünïcødé: quotes \" and ' and # hashes, see https://example.org/" + "a" * 40,
    ]
    projects = [render(description=description) for description in descriptions]
    found = validate_trees(projects)
    for index, (description, project) in enumerate(zip(descriptions, projects, strict=True)):
        with subtests.test(description=description[:20]):
            findings = [f for f in found[index] if ".copier-answers.yml" in str(f)]
            assert not findings, findings
            text = (project / ".copier-answers.yml").read_text(encoding="utf-8")
            assert yaml.safe_load(text)["description"] == description


def test_a_description_word_too_long_to_fold_is_refused_in_one_line(tmp_path: Path) -> None:
    result = run_cli("new", str(tmp_path / "p"), "--defaults", "-d", "description=" + "x" * 150)
    assert result.exit_code == 2
    assert "description: the word" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("source", ["-d", "--answers-file"])
def test_a_stage_command_with_invalid_utf8_is_refused_in_one_line(
    tmp_path: Path, source: str
) -> None:
    if source == "-d":
        given = ["-d", "test_command=echo \udcff"]
    else:
        answers = tmp_path / "answers.yml"
        answers.write_text('test_command: "echo \\udcff"\n', encoding="utf-8")
        given = ["--answers-file", str(answers)]
    result = run_cli("new", str(tmp_path / "p"), "--defaults", *given)
    assert result.exit_code == 2, result.output
    assert "test_command" in result.stderr
    assert "UTF-8" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("monitoring_schedule=50-10 * * * *", "range '50-10' runs backwards"),
        ("monitoring_schedule=*/" + "5" * 20 + " * * * *", "step '55555"),
        ("test_command=echo \udcff", "lone surrogate"),
        ("description=" + "x" * 150, "more than 64 characters"),
    ],
)
def test_plain_copier_refuses_the_same_answers(
    tmp_path: Path, answer: str, message: str, builtin_source: Path
) -> None:
    """copier.yml's validators: `copier copy`/`copier update` get the model's checks."""
    from copier import run_copy

    key, _, value = answer.partition("=")
    with pytest.raises(ValueError, match=message):
        run_copy(str(builtin_source), tmp_path / "p", data={key: value}, defaults=True, quiet=True)


@pytest.fixture
def builtin_source(tmp_path: Path) -> Path:
    """The built-in template's source, copied so copier reads no working directory."""
    from mlrig import builtin_template

    return Path(shutil.copytree(builtin_template(), tmp_path / "template"))


@pytest.mark.parametrize(
    ("manager", "expected"),
    [
        ("uv", "needs uv"),
        ("pip", 'python3 -m venv .venv && .venv/bin/pip install -e ".[dev]" && .venv/bin/pytest'),
    ],
)
def test_next_line_works_on_a_fresh_machine(tmp_path: Path, manager: str, expected: str) -> None:
    result = run_cli(
        "new", str(tmp_path / "p"), "--defaults", "--no-git", "-d", f"package_manager={manager}"
    )
    assert result.exit_code == 0, result.output
    (next_line,) = [line for line in result.stdout.splitlines() if line.startswith("Next")]
    assert expected in next_line


# --- pre-commit from a plain `git commit` (slow: installs from PyPI) ----------------


@pytest.mark.slow
def test_plain_git_commit_runs_the_hooks_without_an_activated_environment(
    render: Callable[..., Path], tmp_path: Path
) -> None:
    """Fresh pip project, env in .venv, `pre-commit install`, then `git commit` from a
    shell whose PATH has no venv: a clean commit passes, an unused import blocks it."""
    project = render(package_manager="pip", framework="none")
    venv = project / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit"),
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    (tmp_path / "home").mkdir()
    (tmp_path / "gitconfig").write_text("[user]\n\tname = T\n\temail = t@example.org\n")

    def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv), cwd=project, env=env, capture_output=True, text=True, check=check
        )

    sh(str(venv / "bin" / "pip"), "install", "-q", "pre-commit>=3.5")
    sh("git", "init", "-q", "-b", "trunk")
    sh(str(venv / "bin" / "pre-commit"), "install")
    sh("git", "add", "-A")
    clean = sh("git", "commit", "-q", "-m", "init", check=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "not found" not in clean.stdout + clean.stderr

    module = project / "src" / "demo_model" / "__init__.py"
    module.write_text("import os\n" + module.read_text(encoding="utf-8"), encoding="utf-8")
    sh("git", "add", "-A")
    blocked = sh("git", "commit", "-q", "-m", "unused import", check=False)
    assert blocked.returncode != 0
    assert "F401" in blocked.stdout + blocked.stderr
