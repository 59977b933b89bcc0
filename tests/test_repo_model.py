"""The repository model: what a repository really runs, per stage, with its source."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrig._repo import Repo, bash_valid, scan
from tests.templaterepo import commit_project, git


def repo(root: Path, files: dict[str, str], *, commit: bool = True) -> Repo:
    """A git repository with ``files`` (committed unless ``commit`` is False), scanned."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "--quiet", "--initial-branch=main")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    if commit:
        commit_project(root, "init")
    return scan(root)


def stage(model: Repo, name: str) -> tuple[str, str]:
    command = model.stages[name]
    return command.text, command.source


# CI scripts, whole and resolved.


def test_a_multi_line_run_block_is_the_whole_install(tmp_path: Path) -> None:
    workflow = """\
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Install
        run: |
          python -m pip install --upgrade pip
          pip install -r requirements.txt
          pip install -e .
      - run: pytest -q
"""
    model = repo(
        tmp_path / "r",
        {
            ".github/workflows/ci.yml": workflow,
            "requirements.txt": "pytest==8.3.3\n",
            "setup.py": "from setuptools import setup\nsetup(name='x')\n",
        },
    )
    assert stage(model, "install") == (
        "python -m pip install --upgrade pip\npip install -r requirements.txt\npip install -e .",
        ".github/workflows/ci.yml:9",
    )
    assert stage(model, "test") == ("pytest -q", ".github/workflows/ci.yml:12")


GITLAB = """\
include:
  - local: ci/templates.yml
  - project: platform/shared
    file: /python.yml

.base: &base
  image: python:3.11-slim
  before_script:
    - pip install -r requirements.txt

lint:
  <<: *base
  script:
    - ruff check .

unit:
  extends: .tested
  script:
    - !reference [.setup, script]
    - pytest -q tests
"""
TEMPLATES = """\
.setup:
  script:
    - pip install -e .
.middle:
  extends: .base-from-include
.tested:
  extends: .middle
  variables:
    COVERAGE: "1"
.base-from-include:
  before_script:
    - pip install -r requirements-test.txt
"""


def test_gitlab_anchors_multi_level_extends_references_and_includes(tmp_path: Path) -> None:
    model = repo(
        tmp_path / "r",
        {
            ".gitlab-ci.yml": GITLAB,
            "ci/templates.yml": TEMPLATES,
            "requirements.txt": "ruff==0.6.9\n",
            "requirements-test.txt": "pytest==8.3.3\n",
            "pyproject.toml": '[project]\nname = "x"\n[build-system]\nrequires = ["hatchling"]\n'
            'build-backend = "hatchling.build"\n',
        },
    )
    jobs = {job.name: job for job in model.ci_jobs}
    assert set(jobs) == {"lint", "unit"}
    assert [c.text for c in jobs["lint"].commands] == [
        "pip install -r requirements.txt",  # from the anchor
        "ruff check .",
    ]
    # before_script two levels of extends up, in the included file; then the reference.
    assert [(c.text, c.source) for c in jobs["unit"].commands] == [
        ("pip install -r requirements-test.txt", "ci/templates.yml:12"),
        ("pip install -e .", "ci/templates.yml:3"),
        ("pytest -q tests", ".gitlab-ci.yml:20"),
    ]
    assert model.remote_includes == 1
    assert "ci/templates.yml" in model.ci_files
    assert jobs["lint"].pythons == ("3.11",)
    # The install is the test job's whole sequence.
    assert stage(model, "install") == (
        "pip install -r requirements-test.txt\npip install -e .",
        "ci/templates.yml:12",
    )


def test_a_continued_line_is_joined_and_never_cut(tmp_path: Path) -> None:
    workflow = """\
on: push
jobs:
  ci:
    runs-on: ubuntu-latest
    steps:
      - run: |
          pip install \\
            -r requirements.txt \\
            ruff
      - run: ruff check . && pytest -q
"""
    model = repo(
        tmp_path / "r",
        {".github/workflows/ci.yml": workflow, "requirements.txt": "pytest==8\n"},
    )
    # Kept as in the source: the continuation does not swallow anything else.
    assert model.stages["install"].text == "pip install \\\n  -r requirements.txt \\\n  ruff"
    assert bash_valid([model.stages["install"].text]) == {model.stages["install"].text: True}
    # One line running two stages is split between them.
    assert model.stages["lint"].text == "ruff check ."
    assert model.stages["test"].text == "pytest -q"


def test_deploy_and_cleanup_lines_are_never_stage_commands(tmp_path: Path) -> None:
    gitlab = """\
docs:
  script:
    - rm -rf docs/train/_build
    - eval "$(ssh-agent -s)"
    - ssh-add - <<< "$SSH_KEY"
    - scp -r docs/train deploy@example.invalid:/srv/docs
release:
  environment: production
  script:
    - python -m model.train --full
    - python -m model.evaluate
    - twine upload dist/*
"""
    model = repo(tmp_path / "r", {".gitlab-ci.yml": gitlab, "model/__init__.py": ""})
    assert not {"train", "evaluate", "data", "test", "lint"} & set(model.stages)
    jobs = {job.name: job for job in model.ci_jobs}
    assert jobs["release"].deploy
    # A deploy job that trains is no training run, and no metric gate.
    assert jobs["release"].covers == ("deploy",)
    assert jobs["docs"].covers == ("deploy",)
    assert model.stages["deploy"].runnable is False
    assert "train" in model.missing
    assert "-d train_command=" in model.missing["train"]


def test_an_ssh_agent_line_is_kept_whole_and_makes_its_job_a_deploy_job(tmp_path: Path) -> None:
    workflow = """\
on: push
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - run: eval "$(ssh-agent -s)" && python -m model.evaluate --metrics out/metrics.json
  gate:
    runs-on: ubuntu-latest
    steps:
      - run: python -m model.evaluate --metrics out/metrics.json
"""
    model = repo(tmp_path / "r", {".github/workflows/ci.yml": workflow, "model/evaluate.py": ""})
    jobs = {job.name: job for job in model.ci_jobs}
    assert jobs["publish"].commands[0].text.startswith('eval "$(ssh-agent -s)" && python')
    assert jobs["publish"].covers == ("deploy",)
    assert stage(model, "evaluate") == (
        "python -m model.evaluate --metrics out/metrics.json",
        ".github/workflows/ci.yml:10",
    )
    assert model.metrics_file is not None
    assert model.metrics_file.text == "out/metrics.json"


def test_a_folder_named_train_is_not_a_training_run(tmp_path: Path) -> None:
    workflow = """\
on: push
jobs:
  docs:
    runs-on: ubuntu-latest
    steps:
      - run: mkdocs build -f docs/train/mkdocs.yml
      - run: cp -r docs/train site/train
"""
    model = repo(tmp_path / "r", {".github/workflows/ci.yml": workflow})
    assert "train" not in model.stages
    assert model.ci_jobs[0].covers == ()


def test_a_command_bash_cannot_parse_is_passed_over(tmp_path: Path) -> None:
    gitlab = (
        'broken:\n  script:\n    - pytest -k "unterminated\nfine:\n  script:\n    - pytest -q\n'
    )
    model = repo(tmp_path / "r", {".gitlab-ci.yml": gitlab})
    assert stage(model, "test") == ("pytest -q", ".gitlab-ci.yml:6")


# Task runners.


def test_make_recipes_are_followed_and_make_test_is_called(tmp_path: Path) -> None:
    makefile = (
        ".PHONY: test\nPYTHON ?= python\n\ninstall:\n\t$(PYTHON) -m pip install -e .\n\n"
        "test: install\n\t@$(PYTHON) -m pytest -q \\\n\t  tests\n\ncheck-data:\n"
        "\tpython scripts/validate_data.py data/raw.csv\n"
    )
    model = repo(
        tmp_path / "r",
        {
            "Makefile": makefile,
            "scripts/validate_data.py": "",
            "data/raw.csv": "a\n1\n",
            ".gitlab-ci.yml": "verify:\n  script:\n    - make test\n"
            "lint:\n  script:\n    - make lint\n",
        },
    )
    test = next(t for t in model.task_runners if t.name == "test")
    assert test.lines == ("$(PYTHON) -m pytest -q \\\ntests",)
    assert test.source == "Makefile:7"
    # CI calls `make test`; its recipe says it is the tests (and installs first).
    assert stage(model, "test") == ("make test", ".gitlab-ci.yml:3")
    assert model.stages["test"].runnable
    assert model.ci_jobs[0].covers == ("install", "test")
    # `make lint` means a lint, but the Makefile has no such target.
    assert stage(model, "lint") == ("make lint", ".gitlab-ci.yml:6")
    assert not model.stages["lint"].runnable
    assert "make has no task 'lint'" in model.stages["lint"].why
    assert stage(model, "data") == ("make check-data", "Makefile:11")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"justfile": "set shell := ['bash', '-c']\n\n# run the tests\ntest:\n    pytest -q\n"},
            ("pytest -q", "justfile:4"),
        ),
        (
            {
                "mise.toml": '[tasks.test]\nrun = "uv run pytest -q"\n\n'
                '[tasks.lint]\nrun = "ruff check"\n'
            },
            ("uv run pytest -q", "mise.toml:1"),
        ),
        (
            {".mise.toml": '[tasks]\ntest = "pytest -x"\n'},
            ("pytest -x", ".mise.toml:2"),
        ),
        (
            {
                "pyproject.toml": '[project]\nname = "x"\n\n[tool.hatch.envs.default.scripts]\n'
                'cov = "pytest --cov=x"\n\n[tool.hatch.envs.lint.scripts]\nstyle = "ruff check ."\n'
            },
            ("hatch run cov", "pyproject.toml:5"),
        ),
        (
            {
                "pyproject.toml": '[project]\nname = "x"\n\n[tool.poe.tasks]\n'
                'unit = { cmd = "pytest tests" }\n'
            },
            ("poe unit", "pyproject.toml:5"),
        ),
        (
            {"pixi.toml": '[project]\nname = "x"\n\n[tasks]\ntest = { cmd = "pytest -q" }\n'},
            ("pytest -q", "pixi.toml:5"),
        ),
        (
            {
                "pyproject.toml": '[project]\nname = "x"\n\n[tool.pixi.tasks]\n'
                'check = "pytest -q tests"\n'
            },
            ("pytest -q tests", "pyproject.toml:5"),
        ),
        (
            {"tox.ini": "[tox]\nenv_list = py312\n\n[testenv]\ncommands =\n    pytest {posargs}\n"},
            # The default environment on the pipeline's interpreter, not every envlist Python.
            ("tox -e py", "tox.ini:4"),
        ),
        (
            {
                "noxfile.py": 'import nox\n\n\n@nox.session(python=["3.12"])\ndef tests(session):\n'
                '    session.install("-e", ".")\n    session.run("pytest", "-q")\n'
            },
            ("nox -s tests", "noxfile.py:5"),
        ),
        (
            {
                "tasks.py": "from invoke import task\n\n\n@task\ndef unit_tests(c):\n"
                '    c.run("pytest -q")\n'
            },
            ("invoke unit-tests", "tasks.py:5"),
        ),
    ],
    ids=[
        "just",
        "mise",
        "mise-tasks-table",
        "hatch",
        "poe",
        "pixi",
        "pixi-pyproject",
        "tox",
        "nox",
        "invoke",
    ],
)
def test_each_task_runner_provides_the_test_command(
    tmp_path: Path, files: dict[str, str], expected: tuple[str, str]
) -> None:
    model = repo(tmp_path / "r", files)
    assert stage(model, "test") == expected


def test_a_make_rule_with_a_help_comment_is_a_task(tmp_path: Path) -> None:
    makefile = "train: ## Train the model\n\tpython src/train.py trainer.max_epochs=1\n"
    model = repo(tmp_path / "r", {"Makefile": makefile, "src/train.py": ""})
    assert stage(model, "train") == ("make train", "Makefile:1")


def test_pytest_declared_with_a_tests_folder_is_the_test_command(tmp_path: Path) -> None:
    files = {"requirements.txt": "numpy\npytest>=8\n", "tests/test_fit.py": ""}
    model = repo(tmp_path / "r", files)
    assert stage(model, "test") == (
        "python -m pytest",
        "requirements.txt (pytest), tests/test_fit.py",
    )
    without = repo(tmp_path / "s", {"requirements.txt": "numpy\n", "tests/test_fit.py": ""})
    assert "test" not in without.stages
    assert "-d test_command='pytest -q' turns it on" in without.missing["test"]


def test_ci_commands_win_over_task_runner_guesses(tmp_path: Path) -> None:
    model = repo(
        tmp_path / "r",
        {
            "Makefile": "test:\n\tpytest -q\n",
            ".gitlab-ci.yml": "unit:\n  script:\n    - python -m pytest -x tests\n",
        },
    )
    assert stage(model, "test") == ("python -m pytest -x tests", ".gitlab-ci.yml:3")


def test_project_scripts_provide_a_training_run(tmp_path: Path) -> None:
    pyproject = (
        '[project]\nname = "x"\n\n[project.scripts]\nx-fit = "x.cli:fit"\nx = "x.cli:main"\n'
    )
    model = repo(tmp_path / "r", {"pyproject.toml": pyproject})
    assert stage(model, "train") == ("x-fit", "pyproject.toml:5")


def test_dvc_stages_train_with_dvc_repro_and_a_validating_stage_checks_data(
    tmp_path: Path,
) -> None:
    dvc = """\
stages:
  validate:
    cmd: python src/validate.py data/raw.csv
    deps: [data/raw.csv, src/validate.py]
  train:
    cmd: python src/train.py
    deps: [data/raw.csv]
    outs: [models/model.pkl]
    metrics:
      - reports/metrics.json:
          cache: false
"""
    model = repo(
        tmp_path / "r",
        {"dvc.yaml": dvc, "src/validate.py": "", "src/train.py": "", ".gitignore": "/data\n"},
    )
    assert stage(model, "train") == ("dvc repro", "dvc.yaml")
    assert stage(model, "data") == ("dvc repro validate", "dvc.yaml:2")
    assert model.metrics_file is not None
    assert model.metrics_file.text == "reports/metrics.json"
    assert "pip install dvc" in model.stages["install"].text


# Installs.


def test_uv_dependency_groups_without_a_build_system(tmp_path: Path) -> None:
    pyproject = (
        '[project]\nname = "x"\nrequires-python = ">=3.11"\ndependencies = ["numpy"]\n\n'
        '[dependency-groups]\ndev = ["pytest>=8", "ruff"]\ndocs = ["mkdocs"]\n'
    )
    model = repo(tmp_path / "r", {"pyproject.toml": pyproject, "uv.lock": "version = 1\n"})
    assert model.package_manager.name == "uv"
    assert model.build.kind == "none"
    assert stage(model, "install") == ("uv sync --locked --group dev", "uv.lock (uv)")


def test_poetry_with_a_dev_group(tmp_path: Path) -> None:
    pyproject = (
        '[tool.poetry]\nname = "x"\nversion = "1"\n\n[tool.poetry.dependencies]\n'
        'python = "^3.11"\n\n[tool.poetry.group.dev.dependencies]\npytest = "^8"\n\n'
        '[build-system]\nrequires = ["poetry-core"]\nbuild-backend = "poetry.core.masonry.api"\n'
    )
    model = repo(tmp_path / "r", {"pyproject.toml": pyproject, "poetry.lock": ""})
    assert model.stages["install"].text == "pip install poetry\npoetry install --with dev"
    assert model.python.version == "3.11"


def test_requirement_chains_with_the_project_inside(tmp_path: Path) -> None:
    model = repo(
        tmp_path / "r",
        {
            "requirements.txt": "numpy==2.0\n",
            "requirements-dev.txt": "-r requirements.txt\n-e .\npytest==8.3\n",
            "setup.py": "from setuptools import setup\nsetup(name='x')\n",
            "x/__init__.py": "",
        },
    )
    # requirements-dev.txt pulls in requirements.txt and the project: nothing twice.
    assert model.stages["install"].text == "pip install -r requirements-dev.txt"
    assert (model.layout, model.packages) == ("flat", ("x",))


def test_a_setup_py_package_installs_with_its_test_extra(tmp_path: Path) -> None:
    setup = (
        "from setuptools import setup\nsetup(name='x', install_requires=['numpy'],\n"
        "      extras_require={'test': ['pytest']})\n"
    )
    model = repo(tmp_path / "r", {"setup.py": setup, "src/x/__init__.py": ""})
    assert model.stages["install"].text == "pip install -e '.[test]'"
    assert (model.layout, model.packages, model.build.kind) == ("src", ("x",), "setup.py")


def test_conda_environment_installs_its_pip_section_and_gives_the_python(tmp_path: Path) -> None:
    environment = (
        "name: x\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n  - numpy\n"
        "  - pip\n  - pip:\n      - scikit-learn==1.5\n      - pytest\n"
    )
    model = repo(tmp_path / "r", {"environment.yml": environment})
    assert model.package_manager.name == "conda"
    assert model.stages["install"].text == "pip install scikit-learn==1.5 pytest"
    assert (model.python.version, model.python.source) == ("3.11", "environment.yml")


def test_a_lint_tool_no_dependency_list_has_is_installed(tmp_path: Path) -> None:
    workflow = """\
on: push
jobs:
  ci:
    runs-on: ubuntu-latest
    steps:
      - run: pip install -r requirements.txt
      - run: ruff check .
      - run: pytest --cov=x
"""
    model = repo(
        tmp_path / "r",
        {".github/workflows/ci.yml": workflow, "requirements.txt": "pytest==8\n"},
    )
    install = model.stages["install"]
    assert install.text == "pip install -r requirements.txt\npip install ruff pytest-cov"
    assert "ruff, pytest-cov: in no dependency list" in install.why


# Python.


@pytest.mark.parametrize(
    ("files", "version", "supported"),
    [
        ({".python-version": "3.13.1\n"}, "3.13", True),
        ({".python-version": "3.9\n"}, "3.9", False),
        ({".python-version": "3.15\n"}, "3.15", False),
        ({"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.7,<3.10"\n'}, "", False),
        ({"environment.yml": "dependencies:\n  - python=3.9\n"}, "3.9", False),
    ],
)
def test_python_a_version_mlrig_cannot_serve_is_said(
    tmp_path: Path, files: dict[str, str], version: str, supported: bool
) -> None:
    python = repo(tmp_path / "r", files).python
    assert (python.version, python.supported) == (version, supported)
    if not supported:
        assert "mlrig's pipelines run Python 3.10-" in python.why


def test_python_a_ci_pin_wins_over_the_lower_bound_of_requires_python(tmp_path: Path) -> None:
    model = repo(
        tmp_path / "r",
        {
            "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.9"\n',
            ".gitlab-ci.yml": "image: python:3.11\ntest:\n  script: [pytest]\n",
        },
    )
    assert (model.python.version, model.python.source) == ("3.11", ".gitlab-ci.yml")


def test_python_from_the_ci_matrix(tmp_path: Path) -> None:
    workflow = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python-version: ["3.11", "3.12"]
    steps:
      - run: pytest
"""
    model = repo(tmp_path / "r", {".github/workflows/ci.yml": workflow})
    assert model.ci_jobs[0].pythons == ("3.11", "3.12")
    assert (model.python.version, model.python.source) == ("3.11", ".github/workflows/ci.yml")


# Files and what can run.


def test_ignored_paths_follow_gitignore_and_a_stage_reading_one_cannot_run(
    tmp_path: Path,
) -> None:
    gitlab = "train:\n  script:\n    - python -m model.train --data data/train.csv\n"
    model = repo(
        tmp_path / "r",
        {
            ".gitignore": "data/\n*.csv\n",
            ".gitlab-ci.yml": gitlab,
            "model/__init__.py": "",
            "model/train.py": "",
        },
    )
    assert model.ignored("data/train.csv")
    assert model.ignored("results.csv")
    assert not model.ignored("model/train.py")
    train = model.stages["train"]
    assert not train.runnable
    assert "data/train.csv, which git ignores" in train.why


def test_a_module_that_is_not_in_the_repository_cannot_run(tmp_path: Path) -> None:
    gitlab = "gate:\n  script:\n    - python -m model.evaluate\n"
    model = repo(tmp_path / "r", {".gitlab-ci.yml": gitlab, "model/__init__.py": ""})
    assert not model.stages["evaluate"].runnable
    assert "module model.evaluate is not in the repository" in model.stages["evaluate"].why


def test_scheduled_gitlab_pipelines_and_the_jobs_they_would_run(tmp_path: Path) -> None:
    gitlab = """\
plain:
  script: [pytest]
never-on-schedule:
  rules:
    - if: $CI_PIPELINE_SOURCE == "schedule"
      when: never
    - when: on_success
  script: [pytest]
nightly:
  rules:
    - if: $CI_PIPELINE_SOURCE == "schedule"
  script: [python -m m.train]
mr-only:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  script: [ruff check .]
"""
    model = repo(tmp_path / "r", {".gitlab-ci.yml": gitlab})
    jobs = {job.name: (job.scheduled, job.on_schedule) for job in model.ci_jobs}
    assert jobs == {
        "plain": (False, True),  # no rules: a scheduled pipeline runs it too
        "never-on-schedule": (False, False),
        "nightly": (True, True),
        "mr-only": (False, False),
    }
    assert model.scheduled == (".gitlab-ci.yml:nightly",)


def test_only_a_branch_and_manual_jobs_are_in_a_scheduled_pipeline(tmp_path: Path) -> None:
    gitlab = """\
pages:
  only: [main]
  script: [./build_docs.sh]
deploy:
  only: [main]
  when: manual
  environment: production
  script: [./deploy.sh]
mr:
  only: [merge_requests]
  script: [pytest]
not-scheduled:
  except: [schedules]
  script: [pytest]
"""
    model = repo(tmp_path / "r", {".gitlab-ci.yml": gitlab})
    jobs = {job.name: job.on_schedule for job in model.ci_jobs}
    assert jobs == {"pages": True, "deploy": True, "mr": False, "not-scheduled": False}


def test_workflow_rules_without_schedules_keep_every_job_out_of_them(tmp_path: Path) -> None:
    gitlab = """\
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "schedule"
      when: never
    - when: always
test:
  script: [pytest]
"""
    model = repo(tmp_path / "r", {".gitlab-ci.yml": gitlab})
    assert [job.on_schedule for job in model.ci_jobs] == [False]


def test_a_folder_that_is_not_a_git_repository_is_walked(tmp_path: Path) -> None:
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "Makefile").write_text("test:\n\tpytest\n")
    (tmp_path / "tox.ini").write_text("[testenv]\ncommands = pytest\n")
    model = scan(tmp_path)
    assert model.files == frozenset({"tox.ini"})
    assert stage(model, "test") == ("tox -e py", "tox.ini:1")


def test_a_ci_job_install_is_its_whole_sequence_with_pipx_made_portable(tmp_path: Path) -> None:
    workflow = (
        "on: push\njobs:\n  tests:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: pipx install poetry\n"
        "      - run: |\n          poetry config virtualenvs.in-project true\n"
        "          poetry install --with dev\n"
        "      - run: poetry run pytest -q\n"
    )
    model = repo(tmp_path, {".github/workflows/ci.yml": workflow, "poetry.lock": "", "t.py": ""})
    install = model.stages["install"]
    assert install.text.startswith(
        "python -m pip install poetry\npoetry config virtualenvs.in-project true\n"
        "poetry install --with dev\n"
    )
    assert install.source == ".github/workflows/ci.yml:6"
    assert "pipx" in install.why


def test_a_task_that_depends_only_on_installing_runs_as_its_recipe(tmp_path: Path) -> None:
    mise = (
        '[tasks.install]\nrun = "uv sync"\n\n'
        '[tasks.test]\ndepends = ["install"]\nrun = "uv run pytest -q"\n\n'
        '[tasks.train]\ndepends = ["data"]\nrun = "uv run python train.py"\n\n'
        '[tasks.data]\nrun = "uv run python data.py"\n'
    )
    model = repo(tmp_path, {"mise.toml": mise})
    assert stage(model, "test") == ("uv run pytest -q", "mise.toml:4")
    # Another dependency is the task runner's to run.
    assert stage(model, "train")[0] == "mise run train"
