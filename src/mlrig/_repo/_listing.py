"""The files git would commit, bounded reads of them, and lookups into parsed TOML and YAML."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlrig._files import read_bytes
from mlrig._git import git, start_git
from mlrig._yaml import Lined as _Text
from mlrig._yaml import load_lined
from mlrig.errors import InvalidInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 needs the tomli backport
    import tomli as tomllib
from mlrig._repo._records import MAX_BYTES, RepoFiles

# Folders never walked when the root is not a git work tree.
_SKIP_DIRS = frozenset(
    {".git", ".venv", "venv", "env", "node_modules", "__pycache__", ".tox", ".nox", ".mypy_cache"}
    | {".pytest_cache", ".ruff_cache", "build", "dist", ".eggs", "site-packages"}
)
_MAX_WALK = 20_000


def list_files(root: Path) -> RepoFiles:
    """Ask git for the files under ``root``; it never enters ignored folders.

    A folder that is not in a git work tree is walked instead (hidden folders and
    virtual environments skipped, at most 20,000 files).
    """
    if git(root, "rev-parse", "--is-inside-work-tree").text != "true":
        return _walk(root)
    # Both listings run at once; -z keeps unusual names unquoted.
    staged = start_git(root, "ls-files", "--stage", "-z")
    others = start_git(root, "ls-files", "--others", "--exclude-standard", "-z")
    tracked: dict[str, str] = {}
    for entry in _finish(staged).split("\0"):
        meta, _, path = entry.partition("\t")
        fields = meta.split()
        # Submodules (160000) and symlinks (120000) are not files of this repository.
        if path and fields and fields[0] not in {"160000", "120000"}:
            tracked[path] = fields[1]
    untracked = tuple(p for p in _finish(others).split("\0") if p)
    return RepoFiles(root, tracked, untracked)


def _walk(root: Path) -> RepoFiles:
    found: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in _SKIP_DIRS and (not d.startswith(".") or d in {".github", ".circleci"})
        )
        base = os.path.relpath(folder, root)
        for name in sorted(names):
            path = name if base == "." else f"{base}/{name}".replace(os.sep, "/")
            if not os.path.islink(os.path.join(folder, name)):
                found.append(path)
        if len(found) > _MAX_WALK:
            break
    return RepoFiles(root, {}, tuple(found[:_MAX_WALK]), git=False)


def _finish(proc: subprocess.Popen[bytes]) -> str:
    output, _ = proc.communicate()
    return output.decode("utf-8", "surrogateescape")


def parse_toml(text: str) -> dict[str, Any]:
    """``text`` as TOML (tomllib; tomli on Python 3.10), ``{}`` when it does not parse."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}
    return data


class _Reader:
    """Bounded reads of the repository's own files (listed, regular, at most MAX_BYTES)."""

    def __init__(self, root: Path, files: frozenset[str]) -> None:
        self.root = root
        self.files = files
        self._cache: dict[str, str | None] = {}
        #: Why each file that could not be read was not, in one line.
        self.unread: dict[str, str] = {}

    def text(self, path: str) -> str | None:
        if path not in self._cache:
            self._cache[path] = self._load(path)
        return self._cache[path]

    def _load(self, path: str) -> str | None:
        if path not in self.files:
            return None
        try:
            data = read_bytes(self.root / path, what=path, limit=MAX_BYTES, root=self.root)
        except InvalidInputError as exc:
            self.unread[path] = str(exc)
            return None
        return data.decode("utf-8", errors="replace").replace("\r\n", "\n")

    def toml(self, path: str) -> dict[str, Any]:
        return parse_toml(self.text(path) or "")

    def first(self, *paths: str) -> str | None:
        return next((p for p in paths if p in self.files), None)


def get_path(data: Any, *keys: str) -> Any:
    """``data[k1][k2]...`` of parsed TOML or YAML, None where a key or a table is missing."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _line_of(text: str, pattern: str, start: int = 0) -> int:
    """1-based line of the first match of ``pattern`` (multiline) at or after ``start``."""
    match = re.compile(pattern, re.MULTILINE).search(text, start)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def _load_yaml(reader: _Reader, path: str) -> object:
    """One YAML file, parsed safely (:func:`mlrig._yaml.load_lined`); ValueError with a reason."""
    text = reader.text(path)
    if text is None:
        raise ValueError(reader.unread.get(path, "cannot be read").removeprefix(f"{path} "))
    try:
        return load_lined(text, file=path)
    except InvalidInputError as exc:
        raise ValueError(str(exc).removeprefix(f"{path} is ").removeprefix(f"{path} ")) from None


def _mapping(value: object) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _where(value: object, fallback: str) -> str:
    if isinstance(value, _Text) and value.file:
        return f"{value.file}:{value.line}"
    return fallback
