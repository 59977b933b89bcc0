"""Answers and commands inferred from existing repositories, each with its source."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrig._infer import infer
from mlrig.answers import default_python
from tests.gallery import GALLERY
from tests.templaterepo import commit_project, git


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "github_matrix",
            {
                "project_name": ("churn-model", "pyproject.toml"),
                "python_version": ("3.11", ".python-version"),
                "ci_provider": ("github", ".github/workflows/"),
                "package_manager": ("pip", "requirements-dev.txt"),
                "framework": ("sklearn", "pyproject.toml (scikit-learn)"),
            },
        ),
        (
            "gitlab_include",
            {
                "ci_provider": ("gitlab", ".gitlab-ci.yml"),
                "framework": ("none", "dependencies (no torch or scikit-learn)"),
                "docker": (True, "Dockerfile"),
            },
        ),
        (
            "no_ci",
            {
                "python_version": ("3.11", "pyproject.toml [project] requires-python"),
                "ci_provider": ("github", "default"),
                "package_manager": ("pip", "pyproject.toml"),
            },
        ),
        (
            "poetry",
            {
                "package_manager": ("pip", "poetry.lock"),
                "framework": ("pytorch", "pyproject.toml (torch)"),
            },
        ),
        ("large_data", {"framework": ("pytorch", "requirements.txt (torch)")}),
        ("two_packages", {"package_manager": ("uv", "uv.lock")}),
        ("requirements_only", {"project_name": ("requirements_only", "folder name")}),
    ],
)
def test_gallery_answers_come_with_their_sources(
    tmp_path: Path, name: str, expected: dict[str, tuple[object, str]]
) -> None:
    answers = infer(GALLERY[name](tmp_path)).answers

    for key, (value, source) in expected.items():
        assert (answers[key].value, answers[key].source) == (value, source), key


def test_poetry_is_mapped_to_pip_and_says_so(tmp_path: Path) -> None:
    item = infer(GALLERY["poetry"](tmp_path)).answers["package_manager"]

    assert item.value == "pip"
    assert "poetry" in item.note
    assert "uv and pip only" in item.note


def test_ci_commands_come_before_the_makefile_and_the_install_is_the_whole_sequence(
    tmp_path: Path,
) -> None:
    commands = infer(GALLERY["github_matrix"](tmp_path)).commands

    assert {kind: (c.value, c.source) for kind, c in commands.items()} == {
        # The test job's whole `run: |` block, not its first line.
        "install": (
            "pip install -r requirements-dev.txt\npip install -e .",
            ".github/workflows/ci.yml:35",
        ),
        "lint": ("ruff check src tests", ".github/workflows/ci.yml:19"),
        "test": ("pytest -q --cov=churn tests", ".github/workflows/ci.yml:38"),
        # CI has no training run: the Makefile's target is called.
        "train": ("make train", "Makefile:12"),
    }


def test_gitlab_commands_resolve_anchors_extends_and_keep_whole_sequences(
    tmp_path: Path,
) -> None:
    commands = infer(GALLERY["gitlab_include"](tmp_path)).commands

    assert commands["lint"].value == "ruff check forecast tests\nmypy forecast"
    assert commands["lint"].source == ".gitlab-ci.yml:31"
    # The before_script of `.python`, merged in through `<<: *python`.
    assert commands["install"].value == "pip install -r requirements.txt"
    assert commands["install"].source == ".gitlab-ci.yml:21"
    assert commands["test"].value == "pytest -q --junitxml=report.xml tests"
    assert commands["train"].value == "python -m forecast.train --epochs 1"


def test_commands_from_tox_nox_and_pyproject_scripts(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\n[project.scripts]\nx-train = "x.cli:train"\n'
            '[tool.poe.tasks]\nevaluate = "python -m x.eval"\n',
            "tox.ini": "[tox]\nenvlist = py311\n\n[testenv]\ncommands = pytest\n\n[testenv:lint]\n",
            "noxfile.py": "import nox\n\n\n@nox.session\ndef install(session):\n    pass\n",
        },
    )
    commands = infer(tmp_path).commands

    assert (commands["train"].value, commands["train"].source) == (
        "x-train",
        "pyproject.toml:4",
    )
    assert commands["evaluate"].value == "poe evaluate"
    assert (commands["test"].value, commands["test"].source) == ("tox -e py", "tox.ini:4")
    assert (commands["lint"].value, commands["lint"].source) == ("tox -e lint", "tox.ini:7")
    # tox runs the tests and no dependency list has it: it is installed too.
    assert (commands["install"].value, commands["install"].source) == (
        "nox -s install\npip install tox",
        "noxfile.py:5",
    )
    assert "tox: in no dependency list" in commands["install"].note


@pytest.mark.parametrize(
    ("files", "version", "source"),
    [
        (
            {"pyproject.toml": '[project]\nrequires-python = ">=3.11,<3.14"\n'},
            "3.11",
            "pyproject.toml [project] requires-python",
        ),
        (
            {"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.12"\n'},
            "3.12",
            "pyproject.toml [tool.poetry]",
        ),
        ({".python-version": "cpython-3.13.1\n"}, "3.13", ".python-version"),
        (
            {".gitlab-ci.yml": "test:\n  image: python:3.10-slim\n  script: [pytest]\n"},
            "3.10",
            ".gitlab-ci.yml",
        ),
        # An unsupported Python takes the default, which depends on the machine.
        ({".python-version": "3.8\n"}, default_python(), "default"),
        (
            {
                "pyproject.toml": '[project]\nrequires-python = ">=3.10"\n',
                ".gitlab-ci.yml": "test:\n  image: python:3.11\n  script: [pytest]\n",
            },
            "3.11",
            ".gitlab-ci.yml",
        ),
    ],
)
def test_python_version(tmp_path: Path, files: dict[str, str], version: str, source: str) -> None:
    item = infer(write(tmp_path, files)).answers["python_version"]

    assert (item.value, item.source) == (version, source)


def test_an_invalid_project_name_is_made_valid_and_noted(tmp_path: Path) -> None:
    item = infer(
        write(tmp_path, {"pyproject.toml": '[project]\nname = "acme.churn model"\n'})
    ).answers["project_name"]

    assert item.value == "acme-churn-model"
    assert "not a valid project name" in item.note


def test_an_unreadable_pyproject_falls_back_to_defaults(tmp_path: Path) -> None:
    answers = infer(write(tmp_path / "My Repo", {"pyproject.toml": "[project\nname ="})).answers

    assert (answers["project_name"].value, answers["project_name"].source) == (
        "My-Repo",
        "folder name",
    )
    assert answers["framework"].source == "default"


def test_found_commands_become_answers_when_usable(tmp_path: Path) -> None:
    answers = infer(GALLERY["two_packages"](tmp_path)).answers

    # The workflow's `ruff check packages/${{ matrix.package }}` only works inside GitHub.
    assert (answers["lint_command"].value, answers["lint_command"].source) == ("", "default")
    assert (answers["test_command"].value, answers["test_command"].source) == (
        "make test",
        "Makefile:1",
    )


def test_a_found_command_the_template_refuses_falls_back_with_a_note(tmp_path: Path) -> None:
    write(tmp_path, {".gitlab-ci.yml": 'test:\n  script:\n    - pytest -k "{{ name }}"\n'})
    item = infer(tmp_path).answers["test_command"]

    assert (item.value, item.source) == ("", "default")
    assert "is not usable" in item.note
    assert ".gitlab-ci.yml:3" in item.note
    reason, flag = infer(tmp_path).left_out["test"]
    assert "is not usable" in reason
    assert flag == "-d test_command='pytest -q'"


def test_the_metrics_file_the_training_writes_is_an_answer(tmp_path: Path) -> None:
    dvc = "stages:\n  train:\n    cmd: python train.py\n    metrics:\n      - eval/metrics.json\n"
    inference = infer(write(tmp_path, {"dvc.yaml": dvc, "train.py": ""}))

    item = inference.answers["metrics_file"]
    assert (item.value, item.source) == ("eval/metrics.json", "dvc.yaml")
    assert inference.answers["train_command"].value == "dvc repro"
    # Each stage without a command is left out with the -d that turns it on.
    assert inference.left_out["lint"] == ("no lint command found", "-d lint_command='ruff check .'")
    assert "train" not in inference.left_out


def test_a_command_that_cannot_run_as_it_stands_is_left_out(tmp_path: Path) -> None:
    gitlab = "train:\n  script:\n    - python -m model.train --data data/train.csv\n"
    files = {".gitignore": "data/\n", ".gitlab-ci.yml": gitlab, "model/train.py": ""}
    write(tmp_path, {**files, "model/__init__.py": ""})
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    commit_project(tmp_path, "init")
    inference = infer(tmp_path)

    reason, flag = inference.left_out["train"]
    assert reason.startswith("'python -m model.train --data data/train.csv' (.gitlab-ci.yml:3)")
    assert "which git ignores" in reason
    assert flag == "-d train_command='python train.py --smoke'"


def test_an_inferred_value_the_template_refuses_falls_back_to_the_default(tmp_path: Path) -> None:
    write(
        tmp_path, {"pyproject.toml": '[project]\nname = "x"\ndescription = "bell \\u0007 here"\n'}
    )
    item = infer(tmp_path).answers["description"]

    assert (item.value, item.source) == ("A small machine-learning project", "default")
    assert "control characters" in item.note
