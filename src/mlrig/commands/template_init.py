"""``mlrig template init``: start a house template, as a git repository, from the built-in one."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from mlrig._git import commit_all, find_git, run_git
from mlrig._staging import check_destination, staged
from mlrig._version import __version__
from mlrig.templates import builtin_template

__all__ = ["FIRST_VERSION", "TemplateInitResult", "house_files", "template_init"]

#: The version tag of the template's first commit.
FIRST_VERSION = "v0.1.0"
# Replaced in the house files by the running mlrig's version, so CI installs the
# mlrig the template was tested with.
_VERSION_MARK = "__MLRIG_VERSION__"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.py[cod]", ".git")


@dataclass(frozen=True)
class TemplateInitResult:
    """The house template ``template_init`` created."""

    dest: Path
    #: Relative POSIX paths of the template's files, sorted; ``.git`` is not listed.
    files: tuple[str, ...]
    #: SHA of the initial commit, tagged :data:`FIRST_VERSION`.
    commit: str
    tag: str


def house_files() -> Path:
    """Directory of the files a house template adds to the built-in one: its tests, CI, README."""
    return builtin_template().parent / "house"


def template_init(dest: Path) -> TemplateInitResult:
    """Create a house template in ``dest``: the built-in template plus its own tests and CI.

    ``dest`` must not exist or be an empty directory. It becomes a git
    repository on branch ``main`` with one commit tagged :data:`FIRST_VERSION`,
    so that ``mlrig new --template DEST`` and ``mlrig template test DEST`` work
    at once. The template is assembled in a staging directory beside ``dest``
    and moved into place when complete: a failure leaves nothing behind.
    Raises :class:`InvalidInputError` for a bad destination and
    :class:`EnvironmentProblem` when git is missing.
    """
    dest = Path(os.path.abspath(dest))
    check_destination(dest)
    find_git()
    with staged(dest) as out:
        shutil.copytree(builtin_template(), out, ignore=_IGNORED)
        shutil.copytree(house_files(), out, ignore=_IGNORED, dirs_exist_ok=True)
        for path in out.rglob("*"):
            if path.is_file() and _VERSION_MARK in (text := _read_text(path)):
                path.write_text(text.replace(_VERSION_MARK, __version__), encoding="utf-8")
        files = tuple(sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()))
        run_git(out, "init", "--quiet", "--initial-branch=main")
        commit = commit_all(out, f"House template {FIRST_VERSION} from mlrig {__version__}")
        run_git(out, "tag", FIRST_VERSION)
    return TemplateInitResult(dest, files, commit, FIRST_VERSION)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return ""
