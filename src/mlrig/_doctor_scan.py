"""Cheap scans of a repository's files for ``mlrig doctor``.

Every scan works from git's own file lists (tracked files, and untracked files
that are not ignored), so gitignored folders such as ``.venv`` or a data cache are
never entered. Sizes come from one ``lstat`` per file; only files over the size
limit are confirmed against the blob git stores (a Git LFS pointer is small).
The secret scan is :mod:`mlrig._secrets` (git grep, then detect-secrets); its names
are re-exported here. The few files read here are
read through :class:`Texts`: bounded, and never through a symlink that leads out
of the repository.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from mlrig._files import read_bytes
from mlrig._git import git
from mlrig._repo import MAX_BYTES, RepoFiles, get_path, list_files, parse_toml
from mlrig._secrets import SECRET_SCAN_MAX_BYTES, Secret, secrets, start_secret_scan
from mlrig.errors import InvalidInputError

__all__ = [
    "SECRET_SCAN_MAX_BYTES",
    "Dependencies",
    "FoundTests",
    "LargeFile",
    "RepoFiles",
    "Secret",
    "Texts",
    "dependencies",
    "large_files",
    "list_files",
    "notebooks",
    "secrets",
    "sizes",
    "start_secret_scan",
    "test_suite",
]

_TEST_FILE = re.compile(r"(?:^|/)(?:test_[^/]*|[^/]*_test)\.py")
_TEST_FUNCTION = re.compile(rb"^[ \t]*(?:async[ \t]+)?def[ \t]+test\w*[ \t]*\(", re.MULTILINE)
_NOTEBOOK_RUNNERS = re.compile(
    r"nbmake|nbval|testbook|papermill|nbclient|jupyter\s+(?:execute|nbconvert\b[^\n]*--execute)"
)
_LOCK_FILES = frozenset(
    {"uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "pixi.lock", "requirements.lock"}
    | {"conda-lock.yml"}
)
_DECLARING = frozenset(["setup.py", "setup.cfg", "environment.yml", "Pipfile"])
_REQUIREMENTS = re.compile(r"(?:.*/)?requirements(?:[^/]*\.txt|/[^/]+\.txt)")


@dataclass(frozen=True)
class LargeFile:
    """A file over the size limit; ``tracked`` is False for an untracked, unignored file."""

    path: str
    size: int
    tracked: bool


@dataclass(frozen=True)
class FoundTests:
    """Test files (``test_*.py``, ``*_test.py``) and the ``test*`` functions in them."""

    files: tuple[str, ...]
    functions: int


@dataclass(frozen=True)
class Dependencies:
    """How the dependencies are pinned.

    ``status`` is ``locked`` (a lock file), ``pinned`` (requirement files that pin
    every package with ``==``), ``unpinned`` (declared with ranges and no lock file)
    or ``none`` (declared nowhere). ``files`` are the lock or requirement files
    found; ``loose`` names some unpinned requirements.
    """

    status: str
    files: tuple[str, ...]
    loose: tuple[str, ...]


def sizes(files: RepoFiles) -> dict[str, int]:
    """Size on disk of each regular file (missing or special files are left out).

    One ``lstat`` per file is cheaper than asking git for blob sizes, which reads
    every object's header.
    """
    found: dict[str, int] = {}
    root = str(files.root)
    for path in files.all:
        try:
            info = os.lstat(os.path.join(root, path))
        except OSError:
            continue
        if (info.st_mode & 0o170000) == 0o100000:
            found[path] = info.st_size
    return found


def large_files(files: RepoFiles, size_of: dict[str, int], limit: int) -> list[LargeFile]:
    """Files bigger than ``limit`` bytes, biggest first; tracked ones as git stores them."""
    big = [p for p, size in size_of.items() if size > limit]
    tracked = [p for p in big if p in files.tracked]
    stored = _blob_sizes(files.root, [files.tracked[p] for p in tracked])
    found = [
        LargeFile(p, stored.get(files.tracked[p], size_of[p]), True)
        for p in tracked
        if stored.get(files.tracked[p], size_of[p]) > limit
    ]
    found += [LargeFile(p, size_of[p], False) for p in big if p not in files.tracked]
    return sorted(found, key=lambda f: (-f.size, f.path))


def _blob_sizes(root: Path, blobs: Sequence[str]) -> dict[str, int]:
    if not blobs:
        return {}
    proc = git(root, "cat-file", "--batch-check", input="".join(f"{blob}\n" for blob in blobs))
    found: dict[str, int] = {}
    for line in proc.text.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] == "blob":
            found[fields[0]] = int(fields[2])
    return found


class Texts:
    """The repository's files as the scans read them, each within :mod:`mlrig._files`' bounds.

    A file that cannot be read (a symlink out of the repository or to a device, a
    FIFO, over :data:`~mlrig._repo.MAX_BYTES`) reads as empty, and :attr:`unread`
    maps its path to the one-line reason, so that doctor can name it.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.unread: dict[str, str] = {}

    def data(self, path: str) -> bytes:
        """The bytes of ``path`` (relative to the root); empty when it cannot be read."""
        if not os.path.lexists(self.root / path):
            return b""  # deleted since git listed it: nothing to name
        try:
            return read_bytes(self.root / path, what=path, limit=MAX_BYTES, root=self.root)
        except InvalidInputError as exc:
            self.unread.setdefault(path, str(exc))
            return b""

    def text(self, path: str) -> str:
        """The text of ``path``, undecodable bytes replaced; empty when it cannot be read."""
        return self.data(path).decode("utf-8", errors="replace")

    def readable(self, path: str) -> bool:
        """Whether ``path`` can be read within the bounds: only such a file goes to a linter."""
        self.data(path)
        return path not in self.unread


def test_suite(texts: Texts, paths: Iterable[str]) -> FoundTests:
    """The test files among ``paths`` and how many test functions they define."""
    files = tuple(p for p in paths if _TEST_FILE.search(p))
    count = sum(len(_TEST_FUNCTION.findall(texts.data(path))) for path in files)
    return FoundTests(files, count)


def notebooks(
    texts: Texts, paths: Iterable[str], runner_texts: Iterable[str]
) -> tuple[tuple[str, ...], bool]:
    """The notebooks among ``paths``, and whether anything executes them in tests.

    ``runner_texts`` are the files that would mention a notebook runner (nbmake,
    nbval, testbook, papermill, ...): tests, CI, Makefile, project configuration.
    """
    found = tuple(p for p in paths if p.endswith(".ipynb") and ".ipynb_checkpoints/" not in f"/{p}")
    if not found:
        return found, False
    tested = any(_NOTEBOOK_RUNNERS.search(texts.text(path)) for path in runner_texts)
    return found, tested


def dependencies(texts: Texts, paths: Sequence[str]) -> Dependencies:
    """How the project pins its dependencies (see :class:`Dependencies`)."""
    # Path handling here is plain string work: it runs over every file of the repository.
    names = [(p, p.rpartition("/")[2]) for p in paths]
    locks = tuple(p for p, name in names if name in _LOCK_FILES)
    if locks:
        return Dependencies("locked", locks, ())
    requirements = tuple(p for p in paths if "requirements" in p and _REQUIREMENTS.fullmatch(p))
    loose: list[str] = []
    for path in requirements:
        loose.extend(f"{path}: {req}" for req in _loose_requirements(texts.text(path)))
    declared = [p for p, name in names if name in _DECLARING]
    for path in (p for p, name in names if name == "pyproject.toml"):
        if _declares_dependencies(parse_toml(texts.text(path))):
            declared.append(path)
    if requirements and not loose and not declared:
        return Dependencies("pinned", requirements, ())
    if requirements or declared:
        return Dependencies("unpinned", tuple(requirements) + tuple(declared), tuple(loose))
    return Dependencies("none", (), ())


def _declares_dependencies(pyproject: dict[str, Any]) -> bool:
    """Whether a parsed pyproject.toml declares runtime dependencies: ``[project]
    dependencies``, or poetry's main dependencies besides ``python``."""
    if get_path(pyproject, "project", "dependencies"):
        return True
    poetry = (
        get_path(pyproject, "tool", "poetry", "dependencies"),
        get_path(pyproject, "tool", "poetry", "group", "main", "dependencies"),
    )
    return any(isinstance(table, dict) and set(table) - {"python"} for table in poetry)


def _loose_requirements(text: str) -> list[str]:
    """The requirements of a requirements file that do not pin one version."""
    loose = []
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        # Per-requirement options (--hash=...) follow the requirement itself.
        requirement = line.split(" --", 1)[0].strip()
        if not _pinned(requirement):
            loose.append(requirement)
    return loose


def _pinned(requirement: str) -> bool:
    """Whether one requirement names exactly one thing: ``==`` a version (no wildcard) or
    ``===``, a direct URL (``name @ url``), or a path or URL in place of a name."""
    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        return requirement.startswith((".", "/", "file:", "http:", "https:", "git+"))
    if parsed.url:
        return True
    return any(
        spec.operator == "===" or (spec.operator == "==" and not spec.version.endswith(".*"))
        for spec in parsed.specifier
    )
