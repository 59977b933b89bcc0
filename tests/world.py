"""The world gallery: repositories of real public shapes that mlrig did not create.

Each repository is a real file tree under ``tests/repos/<name>/`` (written for this
project in the shape of the public repositories named in its ``imitates``; none of
their files is copied). ``make_repo(name, dest)`` copies one into ``dest/<name>``,
byte for byte (CRLF files and files without a final newline included: the folder's
``.gitattributes`` keeps our own git from normalising them), and commits it on
``main`` with a fixed identity.

``REPOS`` says, per repository, what a user would expect of it:

- ``install`` / ``test``: how the repository's own tests are run, in a fresh virtual
  environment with pip (shell; run from the repository's root);
- ``wheel``: whether ``python -m build --wheel`` builds a package;
- ``provider``: where mlrig's pipeline goes (where the repository's CI is; GitHub
  when it has none);
- ``jobs``: mlrig jobs adopt must add (at least these), for ``provider``;
- ``left_out``: stages the repository has no command for: adopt must not generate
  their jobs, and must name each with the ``-d KEY=VALUE`` (or file) that turns it on;
- ``python``: the Python version the repository declares (None: it declares none);
- ``crlf``: the repository's text files have CRLF line endings.

Stages not named in ``jobs`` or ``left_out`` are left to the inference (the
gallery does not prescribe, for instance, whether a bare ``tests/`` folder with
pytest in requirements.txt is a test command).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tests.templaterepo import init_and_commit

__all__ = [
    "REPOS",
    "REPOS_DIR",
    "STAGE_FILES",
    "STAGE_JOBS",
    "STAGE_KEYS",
    "WorldRepo",
    "make_repo",
]

REPOS_DIR = Path(__file__).resolve().parent / "repos"

#: The answer (``-d KEY=VALUE``) that turns each stage on ...
STAGE_KEYS: dict[str, str] = {
    "install": "install_command",
    "lint": "lint_command",
    "test": "test_command",
    "data": "data_command",
    "train": "train_command",
    "evaluate": "evaluate_command",
    "monitor": "monitoring_schedule",
}
#: ... or the file: mlrig writes no Dockerfile into a repository it did not create (and
#: refuses ``-d docker=true`` without one), so a Dockerfile is what turns the image on.
STAGE_FILES: dict[str, str] = {"image": "Dockerfile"}
#: The names of mlrig's jobs for each stage, per provider (the built-in template's).
STAGE_JOBS: dict[str, dict[str, str]] = {
    "github": {
        "lint": "lint",
        "test": "test",
        "data": "data",
        "train": "train",
        "image": "docker",
        "monitor": "monitor",
    },
    "gitlab": {
        "lint": "lint",
        "test": "test",
        "data": "data",
        "train": "train",
        "image": "docker-build",
        "monitor": "monitor",
    },
}
_NOTHING_TO_RUN = ("data", "train", "evaluate", "image", "monitor")


@dataclass(frozen=True)
class WorldRepo:
    """What one gallery repository is and what adopting it must give (module docstring)."""

    name: str
    imitates: tuple[str, ...]
    install: str
    test: str
    wheel: bool
    provider: Literal["github", "gitlab"]
    jobs: tuple[str, ...]
    left_out: tuple[str, ...]
    python: str | None = None
    crlf: bool = False

    @property
    def path(self) -> Path:
        return REPOS_DIR / self.name


REPOS: dict[str, WorldRepo] = {
    repo.name: repo
    for repo in (
        WorldRepo(
            name="ccds_v2",
            imitates=("drivendataorg/cookiecutter-data-science (v2 render: flit, ruff, Makefile)",),
            install="python -m pip install -r requirements.txt",
            test="python -m pytest tests",
            wheel=True,
            provider="github",
            jobs=("lint", "test"),
            # modeling/train.py reads data/processed, which is gitignored: no train stage.
            left_out=_NOTHING_TO_RUN,
            python="3.11",
        ),
        WorldRepo(
            name="poetry_dev",
            imitates=(
                "fpgmaas/cookiecutter-poetry renders",
                "poetry projects with [tool.poetry.group.dev.dependencies]",
            ),
            install="python -m pip install -e . pytest",
            test="python -m pytest -q",
            wheel=True,
            provider="github",
            jobs=(),
            left_out=_NOTHING_TO_RUN,
            python="3.11",
        ),
        WorldRepo(
            name="uv_groups_gitlab",
            imitates=(
                "uv application projects (tool.uv package = false, [dependency-groups])",
                "GitLab pipelines with hidden jobs, extends, !reference and local includes",
            ),
            install="python -m pip install pytest",
            test="python -m pytest -q",
            wheel=False,
            provider="gitlab",
            jobs=(),
            # `rm -rf public/train_notes/...` and the scp upload are never stages.
            left_out=("data", "image", "monitor"),
            python="3.11",
        ),
        WorldRepo(
            name="setuptools_gitlab",
            imitates=(
                "setup.py TensorFlow-style packages on GitLab (global before_script list)",
                "GitLab's Python.gitlab-ci.yml template; SSH deploy jobs with ssh-agent",
            ),
            install="python -m pip install -r requirements-dev.txt && python -m pip install -e .",
            test="python -m pytest tests -v",
            wheel=True,
            provider="gitlab",
            jobs=("lint", "test"),
            left_out=_NOTHING_TO_RUN,
            python="3.11",
        ),
        WorldRepo(
            name="mise_uv",
            imitates=("uv projects with mise.toml [tasks] (mise cookbook for Python)",),
            install="python -m pip install -e . pytest",
            test="python -m pytest -q",
            wheel=True,
            provider="github",
            jobs=("lint", "test"),
            left_out=_NOTHING_TO_RUN,
            python="3.14",
        ),
        WorldRepo(
            name="just_pip",
            imitates=("justfile repositories with lint/test recipes (uv/pip, ruff, pytest)",),
            install="python -m pip install -r requirements-dev.txt -e .",
            test="python -m pytest -q",
            wheel=True,
            provider="github",
            jobs=("lint", "test"),
            # `just normalise` writes out/: it is no data check.
            left_out=_NOTHING_TO_RUN,
        ),
        WorldRepo(
            name="dvc_pipeline",
            imitates=(
                "iterative/example-get-started (dvc.yaml prepare/train/evaluate, params.yaml)",
            ),
            install="python -m pip install pytest pyyaml",
            test="python -m pytest -q",
            wheel=False,
            provider="github",
            jobs=("train",),
            left_out=("lint", "data", "image", "monitor"),
        ),
        WorldRepo(
            name="notebooks_conda",
            imitates=("ageron/handson-ml3 (notebooks, environment.yml + requirements.txt)",),
            install="python -m pip install -r requirements.txt",
            test="python -m pytest -q",
            wheel=False,
            provider="github",
            jobs=(),
            left_out=("lint", *_NOTHING_TO_RUN),
            python="3.11",
        ),
        WorldRepo(
            name="makefile_hydra",
            imitates=("ashleve/lightning-hydra-template (Makefile, multi-line run: blocks)",),
            install="python -m pip install -r requirements.txt",
            test='pytest -k "not slow"',
            wheel=False,
            provider="github",
            jobs=("train",),
            # `make clean-train-docs` (an rm -rf) is never the train stage.
            left_out=("lint", "data", "image", "monitor"),
        ),
        WorldRepo(
            name="gitignore_data",
            imitates=("src-layout libraries whose .gitignore keeps data/, *.csv and models/ out",),
            install='python -m pip install -e ".[dev]"',
            test="python -m pytest -q",
            wheel=True,
            provider="github",
            jobs=(),
            left_out=_NOTHING_TO_RUN,
            python="3.11",
        ),
        WorldRepo(
            name="crlf_gitlab",
            imitates=("repositories committed from Windows with CRLF endings, on GitLab",),
            install="python -m pip install -r requirements.txt && python -m pip install -e .",
            test="python -m pytest -q",
            wheel=True,
            provider="gitlab",
            jobs=(),
            left_out=_NOTHING_TO_RUN,
            python="3.11",
            crlf=True,
        ),
        WorldRepo(
            name="large_library",
            imitates=(
                "pypa/hatch-managed libraries with ci/docs/release/codeql/nightly/stale workflows",
            ),
            install='python -m pip install -e ".[test]"',
            test="python -m pytest tests -q",
            wheel=True,
            provider="github",
            jobs=(),
            left_out=_NOTHING_TO_RUN,
        ),
        WorldRepo(
            name="tox_setupcfg",
            imitates=("setup.cfg + tox.ini libraries (pytest-dev plugin layout)",),
            install="python -m pip install -e . pytest",
            test="python -m pytest tests",
            wheel=True,
            provider="github",
            jobs=(),
            left_out=_NOTHING_TO_RUN,
            python="3.11",
        ),
    )
}


def make_repo(name: str, dest: Path) -> Path:
    """Copy ``tests/repos/<name>`` into ``dest/<name>`` and commit it on ``main``.

    Bytes and file modes are kept; ``core.autocrlf`` is off in the new repository so
    that git stores CRLF files as they are. Returns the repository's path.
    """
    repo = dest / name
    shutil.copytree(REPOS[name].path, repo, symlinks=True)
    return init_and_commit(repo, f"Import {name}")
