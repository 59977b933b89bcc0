"""Building a new directory safely: refuse an unusable destination, stage, then move in.

Used by ``mlrig new`` and ``mlrig template init``: a failure or an interrupt leaves
nothing behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlrig.errors import EnvironmentProblem, InvalidInputError

__all__ = ["check_destination", "staged"]


def check_destination(dest: Path) -> None:
    """Refuse a destination mlrig new cannot create a project in.

    A file or a non-empty directory is :class:`InvalidInputError`; a symbolic
    link to nothing, or a path below a file, is :class:`EnvironmentProblem`.
    """
    if dest.is_symlink() and not dest.exists():
        raise EnvironmentProblem(
            f"{dest} is a symbolic link to {os.readlink(dest)}, which does not exist; "
            "remove the link or choose another path"
        )
    if dest.exists() and not dest.is_dir():
        raise InvalidInputError(f"{dest} exists and is not a directory; choose a new path")
    if dest.is_dir() and any(dest.iterdir()):
        raise InvalidInputError(
            f"{dest} is not empty; mlrig new only creates new projects. For an existing "
            "repository use `mlrig adopt` (or `mlrig add COMPONENT`) instead, or choose an "
            "empty or new directory"
        )
    parent = Path(os.path.abspath(dest)).parent
    while not parent.exists() and not parent.is_symlink() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise EnvironmentProblem(
            f"cannot create {dest}: {parent} is not a directory; choose another path"
        )


@contextmanager
def staged(dest: Path) -> Iterator[Path]:
    """A directory to build ``dest`` in, beside it, moved into place when the block ends.

    ``dest`` is an absolute path that does not exist or is an empty directory. If
    the block raises (an error, Ctrl-C), the staging directory, whatever was moved
    into ``dest`` and any parents of ``dest`` created for it are removed, and
    ``dest`` is left as it was. An :class:`OSError` (a read-only file system, a
    full disk) becomes :class:`EnvironmentProblem`.
    """
    created = _make_parents(dest.parent)
    staging: Path | None = None
    moved: list[Path] = []
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.mlrig-", dir=dest.parent))
        out = staging / dest.name
        yield out
        if dest.is_dir():
            for child in out.iterdir():
                child.rename(dest / child.name)
                moved.append(dest / child.name)
        else:
            out.rename(dest)
    except BaseException as exc:
        for path in moved:
            _remove(path)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        _remove_created(created)
        if isinstance(exc, OSError):
            raise EnvironmentProblem(_cannot_create(dest, exc)) from None
        raise
    shutil.rmtree(staging, ignore_errors=True)


def _cannot_create(dest: Path, exc: OSError) -> str:
    """One line on why ``dest`` could not be written, and what to do."""
    hints = {
        errno.ENOSPC: "free some disk space and run again",
        errno.EDQUOT: "free some of your disk quota and run again",
        errno.EROFS: "the file system is read-only; choose another path",
        errno.EACCES: "you may not write there; choose another path or fix its permissions",
        errno.EPERM: "you may not write there; choose another path or fix its permissions",
    }
    reason = exc.strerror or type(exc).__name__
    hint = hints.get(exc.errno or 0, "check the path and run again")
    return f"cannot create {dest}: {reason}; nothing was written; {hint}"


def _remove(path: Path) -> None:
    """Remove a file or a directory tree ``staged`` moved into place, as far as possible."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _remove_created(created: list[Path]) -> None:
    """Remove the directories :func:`_make_parents` made, deepest first, as far as possible."""
    for directory in created:
        with contextlib.suppress(OSError):
            directory.rmdir()


def _make_parents(directory: Path) -> list[Path]:
    """Create ``directory`` and its missing parents; return the created ones, deepest first.

    When one cannot be created, those already made are removed again and
    :class:`EnvironmentProblem` says why.
    """
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    created: list[Path] = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except OSError as exc:
            _remove_created(created)
            raise EnvironmentProblem(_cannot_create(path, exc)) from None
        created.insert(0, path)
    return created
