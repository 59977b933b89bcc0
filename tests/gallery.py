"""A gallery of realistic existing ML repositories, built as committed git repos.

Each repository is a file tree under ``tests/gallery_repos/<name>/``. Its builder
``make_<name>(root)`` copies the tree into ``root/<name>`` (``root`` is created when
missing; ``root/<name>`` must not exist), commits everything on branch ``main`` and
returns the repository's path. ``GALLERY`` maps each name to its builder. Two things
are made, not stored: the fake AWS credentials (``@FAKE_AWS_KEY_ID@`` and
``@FAKE_AWS_SECRET@`` in the tree), so that no secret scanner flags this project,
and ``large_data``'s big files, written sparse (60 MB that git compresses to a few
kilobytes). Nothing is downloaded; a builder takes well under a second.

What each repository is there to exercise (the "known-bad" parts are deliberate):

- ``github_matrix``: GitHub Actions with a Python-version matrix, a lint and a test
  job and a hand-written ``deploy`` job; unpinned actions (zizmor findings); pinned
  ``requirements-dev.txt``; no data checks, no training run, no metric gate.
- ``gitlab_include``: GitLab CI with ``include:``, ``extends:``, anchors and aliases,
  ``!reference``, custom stages and a scheduled training job; a local include that
  builds an image; a Dockerfile with hadolint findings; fully pinned requirements.
- ``no_ci``: a clean, tested package with no CI at all; its code holds look-alikes
  of secrets (environment lookups, placeholders) that must not be reported.
- ``requirements_only``: scripts and an unpinned ``requirements.txt``, no
  pyproject, no tests, and committed AWS credentials (fake).
- ``poetry``: a poetry project using torch with ``poetry.lock``, tests and
  CircleCI.
- ``notebooks``: notebook-heavy exploration repo, little source, no tests.
- ``large_data``: a 60 MB data file and a 12 MB model committed to git (plus a
  small CSV under the limit and a huge *gitignored* file that must not be
  reported); Jenkins CI.
- ``two_packages``: a uv workspace with two packages (``packages/features`` and
  ``packages/serving``), each with a pyproject and tests, ``uv.lock``, a clean
  Dockerfile and a GitHub workflow with a docker build and a schedule.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from tests.templaterepo import init_and_commit

__all__ = [
    "FAKE_AWS_KEY_ID",
    "GALLERY",
    "LARGE_DATA_PATH",
    "LARGE_MODEL_PATH",
    "TREES",
    "make_github_matrix",
    "make_gitlab_include",
    "make_large_data",
    "make_no_ci",
    "make_notebooks",
    "make_poetry",
    "make_requirements_only",
    "make_two_packages",
]

TREES = Path(__file__).resolve().parent / "gallery_repos"
# Split so that no secret scanner flags this source file itself.
FAKE_AWS_KEY_ID = "AKIA" + "Q3EGRZLN5XJ7TW2P"
_FAKE_AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzq8Hn3Lq2sWd"
_FILLED = {b"@FAKE_AWS_KEY_ID@": FAKE_AWS_KEY_ID, b"@FAKE_AWS_SECRET@": _FAKE_AWS_SECRET}
LARGE_DATA_PATH = "data/raw/transactions.parquet"
LARGE_MODEL_PATH = "models/resnet18-finetuned.pt"
_MB = 1024 * 1024


def _copy(root: Path, name: str) -> Path:
    """``tests/gallery_repos/<name>`` copied to ``root/<name>``, placeholders filled."""
    repo = root / name
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(TREES / name, repo)
    for path in repo.rglob("*"):
        if path.is_file() and b"@FAKE_AWS_" in (data := path.read_bytes()):
            for placeholder, value in _FILLED.items():
                data = data.replace(placeholder, value.encode())
            path.write_bytes(data)
    return repo


def _builder(name: str) -> Callable[[Path], Path]:
    def make(root: Path) -> Path:
        return init_and_commit(_copy(root, name), "Initial import")

    make.__name__ = f"make_{name}"
    make.__doc__ = f"Build the gallery repository ``{name}`` in ``root/{name}``."
    return make


def _sparse(path: Path, size: int, head: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)


make_github_matrix = _builder("github_matrix")
make_gitlab_include = _builder("gitlab_include")
make_no_ci = _builder("no_ci")
make_requirements_only = _builder("requirements_only")
make_poetry = _builder("poetry")
make_notebooks = _builder("notebooks")
make_two_packages = _builder("two_packages")


def make_large_data(root: Path) -> Path:
    """Build ``large_data``: a 60 MB data file and a 12 MB checkpoint committed to git.

    Also writes a 64 MB file in the gitignored ``data/interim/`` folder, which is not
    committed and must not be reported.
    """
    repo = _copy(root, "large_data")
    _sparse(repo / LARGE_DATA_PATH, 60 * _MB, b"PAR1")
    _sparse(repo / LARGE_MODEL_PATH, 12 * _MB, b"PK\x03\x04")
    init_and_commit(repo, "Initial import")
    # Created after the commit and ignored: present on disk, never in git.
    _sparse(repo / "data/interim/features.parquet", 64 * _MB, b"PAR1")
    return repo


GALLERY: dict[str, Callable[[Path], Path]] = {
    "github_matrix": make_github_matrix,
    "gitlab_include": make_gitlab_include,
    "no_ci": make_no_ci,
    "requirements_only": make_requirements_only,
    "poetry": make_poetry,
    "notebooks": make_notebooks,
    "large_data": make_large_data,
    "two_packages": make_two_packages,
}
