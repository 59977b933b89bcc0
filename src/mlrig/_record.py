"""The template record in a project's answers file: which template, at which version."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from mlrig.errors import InvalidInputError

ANSWERS_FILE = ".copier-answers.yml"
_PLAIN_KEY = re.compile(r"^(_src_path|_commit): ([\w./~:@+-]+)[ \t]*$", re.MULTILINE)
# The `_src_path` entry of a block mapping, with the indented lines a long (folded)
# scalar continues on.
_SRC_ENTRY = re.compile(r"^_src_path:.*(?:\n[ \t]+\S.*)*", re.MULTILINE)
# A document that is not a plain block mapping (flow style, several documents,
# anchors) goes to the real parser.
_TOP_LEVEL_FLOW = re.compile(r"^(?:[{\[&*!]|---|\.\.\.)", re.MULTILINE)


@dataclass(frozen=True)
class TemplateRecord:
    """``_src_path`` and ``_commit`` of an answers file."""

    src_path: str
    version: str


def enclosing_project(folder: Path) -> Path | None:
    """The nearest folder above ``folder`` that holds an answers file: the project's root.

    The search stops at the top of ``folder``'s git work tree (a project never spans
    repositories); ``None`` when no folder up to there holds one.
    """
    if (folder / ".git").exists():
        return None
    for parent in folder.parents:
        if (parent / ANSWERS_FILE).is_file():
            return parent
        if (parent / ".git").exists():
            return None
    return None


def _inside(folder: Path, root: Path, command: str) -> InvalidInputError:
    return InvalidInputError(
        f"{folder} is a folder inside the mlrig project {root}; mlrig {command} works on "
        f"the whole project: run `mlrig {command} {shlex.quote(str(root))}`"
    )


def _not_a_project(folder: Path, command: str) -> InvalidInputError:
    """The error for ``mlrig COMMAND folder`` when ``folder`` holds no answers file."""
    if not folder.is_dir():
        return InvalidInputError(f"{folder} is not a directory; pass the project's folder")
    root = enclosing_project(folder)
    if root is not None:
        return _inside(folder, root, command)
    return InvalidInputError(
        f"{folder} has no {ANSWERS_FILE}, nor has a folder above it: it is not an mlrig "
        "project; start one with `mlrig new NAME`, or link an existing repository to mlrig "
        "with `mlrig adopt`"
    )


def require_project(folder: Path, command: str) -> None:
    """Raise :class:`InvalidInputError` unless ``folder`` is the root of a project.

    The message names the project's root when ``folder`` is inside one, and says how
    to start a project otherwise.
    """
    if not (folder / ANSWERS_FILE).is_file():
        raise _not_a_project(folder, command)


def refuse_inside_project(folder: Path, command: str) -> None:
    """Raise :class:`InvalidInputError` when ``folder`` lies inside a project, below its root."""
    if not (folder / ANSWERS_FILE).exists():
        root = enclosing_project(folder)
        if root is not None:
            raise _inside(folder, root, command)


def read_record(project: Path, *, command: str = "update") -> TemplateRecord:
    """Read the template record of ``project``; :class:`InvalidInputError` when unusable.

    ``command`` (``update``, ``check``) is the mlrig command to suggest when
    ``project`` is a folder inside a project rather than its root. The answers file
    is read within :mod:`mlrig._files`' bounds: a regular file of the project (not a
    symlink out of it), small, without alias bombs.
    """
    from mlrig._files import read_text
    from mlrig._yaml import load as load_yaml

    path = project / ANSWERS_FILE
    if not os.path.lexists(path):
        raise _not_a_project(project, command)
    text = read_text(path, what=str(path), root=project)
    # `mlrig check` runs in pre-commit hooks: when copier wrote both keys as plain
    # one-line scalars (it does for tags and paths), skip importing a YAML parser.
    plain = dict(_PLAIN_KEY.findall(text))
    if "_src_path" in plain and "_commit" in plain and not _TOP_LEVEL_FLOW.search(text):
        return TemplateRecord(plain["_src_path"], plain["_commit"])
    try:
        data = load_yaml(text, what=str(path))
    except InvalidInputError as exc:
        raise InvalidInputError(f"{exc}; restore it with git") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path} is not a YAML mapping; restore it with git")
    src, version = data.get("_src_path"), data.get("_commit")
    if not isinstance(src, str) or not src:
        raise InvalidInputError(f"{path} records no template (_src_path); restore it with git")
    if not isinstance(version, str) or not version:
        raise InvalidInputError(
            f"{path} records no template version (_commit): the template was not a git "
            "repository with version tags when the project was made, so it cannot be updated"
        )
    return TemplateRecord(src, version)


def write_src_path(answers_file: Path, src_path: str) -> None:
    """Record ``src_path`` as the template of ``answers_file``, changing nothing else.

    Every other byte (the header comment, the order and quoting of the answers)
    stays as copier wrote it, so that the file differs only where it must.
    """
    from mlrig._yaml import dump_scalar

    value = dump_scalar(src_path)
    text = answers_file.read_text(encoding="utf-8")
    entry = f"_src_path: {value}"
    answers_file.write_text(_SRC_ENTRY.sub(lambda _: entry, text, count=1), encoding="utf-8")


def versions_behind(current: str, versions: tuple[str, ...]) -> int | None:
    """How many of the template's ``versions`` (oldest first) are newer than ``current``.

    ``None`` when ``current`` is neither one of them nor a version number to compare.
    """
    if current in versions:
        return len(versions) - 1 - versions.index(current)
    from packaging.version import InvalidVersion, Version

    try:
        # copier records `git describe` output (v1.2.0-3-gabc1234) for untagged commits.
        mine = Version(current.split("-", 1)[0])
        return sum(Version(v) > mine for v in versions)
    except InvalidVersion:
        return None


def refuse_ahead(
    project: Path, record: TemplateRecord, versions: tuple[str, ...], *, builtin: bool
) -> None:
    """Raise :class:`InvalidInputError` when ``record`` is newer than every one of ``versions``.

    That project was made or updated by a newer mlrig (built-in template) or from a
    tag the template no longer has; comparing it as "behind" would offer a downgrade.
    """
    if record.version in versions or versions_behind(record.version, versions) != 0:
        return
    from packaging.version import Version

    mine = Version(record.version.split("-", 1)[0])
    if any(Version(v) == mine for v in versions):
        return  # a commit after that tag (v1.2.0-3-gabc1234), not a newer version
    if builtin:
        raise InvalidInputError(
            f"{project.name} is on template version {record.version}, newer than {versions[-1]}, "
            "the newest this mlrig has: upgrade mlrig (pip install --upgrade mlrig)"
        )
    raise InvalidInputError(
        f"{project.name} is on template version {record.version}, newer than {versions[-1]}, "
        f"the newest tag of its template {record.src_path}: was the tag deleted? "
        "restore it, or fix _commit in the answers file"
    )
