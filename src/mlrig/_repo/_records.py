"""The typed records of the repository model: what :func:`mlrig._repo.scan` returns."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlrig._git import git

#: The pipeline stages of the model, in pipeline order.
STAGES = ("install", "lint", "test", "data", "train", "evaluate", "image", "monitor", "deploy")
#: Files bigger than this are never read (no real pipeline or manifest is).
MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class Command:
    """A shell command of the repository: valid for ``bash -n``, maybe several lines.

    ``source`` is where it comes from (``file:line``, or a description for a derived
    one such as the package manager's install); ``runnable`` is False when it
    cannot run as it stands in a fresh CI checkout, and ``why`` then says why
    (otherwise ``why`` may carry a note, e.g. a tool installed in addition).
    """

    text: str
    source: str
    runnable: bool = True
    why: str = ""


@dataclass(frozen=True)
class Python:
    """The repository's Python: ``version`` (``"3.12"``), where it comes from, and whether
    mlrig can serve it (``why`` says what to do when not). ``requires`` is the
    requires-python specifier, ``""`` when none is declared."""

    version: str
    source: str
    supported: bool
    why: str = ""
    requires: str = ""

    def allows(self, version: str) -> bool:
        """Whether requires-python allows ``version`` (True when there is no specifier)."""
        return _allows(self.requires, version)


@dataclass(frozen=True)
class Manager:
    """The package manager: uv, poetry, pdm, pip, conda or none, and the file that says so."""

    name: str
    source: str


@dataclass(frozen=True)
class Build:
    """How the package is built: ``pyproject`` (with its backend), ``setup.py`` or ``none``."""

    kind: str
    backend: str
    source: str


@dataclass(frozen=True)
class Task:
    """A task of a task runner: its recipe lines, where it is defined, and how to call it."""

    runner: str
    name: str
    lines: tuple[str, ...]
    source: str
    call: str
    depends: tuple[str, ...] = ()


@dataclass(frozen=True)
class CiJob:
    """One CI job with its whole resolved script.

    ``commands`` are the job's scripts in order (a GitHub ``run:`` block whole, each
    GitLab ``before_script`` + ``script`` item after anchors, ``extends``,
    ``!reference`` and includes). ``triggers`` are the GitHub ``on:`` events or the
    GitLab ``rules: if`` / ``only`` conditions. ``scheduled`` is True for a job meant
    for scheduled runs; ``on_schedule`` for every job a scheduled pipeline would run.
    ``deploy`` marks a job with an ``environment:`` or a deploy line. ``covers`` are
    the stages (:data:`STAGES`) its commands run; ``uses`` are GitHub actions it uses.
    """

    provider: str
    file: str
    name: str
    stage: str
    triggers: tuple[str, ...]
    scheduled: bool
    on_schedule: bool
    deploy: bool
    commands: tuple[Command, ...]
    pythons: tuple[str, ...]
    covers: tuple[str, ...]
    uses: tuple[str, ...] = ()


@dataclass(frozen=True)
class RepoFiles:
    """The files git would commit: tracked (with their blob ids) and untracked, not ignored."""

    root: Path
    tracked: dict[str, str]
    untracked: tuple[str, ...]
    git: bool = True

    @property
    def all(self) -> tuple[str, ...]:
        """Tracked and untracked paths, relative to ``root``, sorted."""
        return tuple(sorted([*self.tracked, *self.untracked]))


@dataclass(frozen=True)
class Repo:
    """What a repository is and what its pipelines run (see the module docstring)."""

    root: Path
    #: Paths git tracks or would add (relative, POSIX), and the tracked ones alone.
    files: frozenset[str]
    tracked: frozenset[str]
    layout: str
    packages: tuple[str, ...]
    build: Build
    package_manager: Manager
    python: Python
    task_runners: tuple[Task, ...]
    ci_providers: tuple[str, ...]
    ci_files: tuple[str, ...]
    ci_jobs: tuple[CiJob, ...]
    #: Pipeline files that could not be read or parsed, one line each.
    ci_problems: tuple[str, ...]
    #: GitLab includes from other projects, templates or URLs (not visible offline).
    remote_includes: int
    #: Files (or ``file:job``) that run on a schedule.
    scheduled: tuple[str, ...]
    stages: dict[str, Command]
    #: Per stage with no command: why, and the answer that turns it on.
    missing: dict[str, str]
    #: Every declared dependency (normalised name, all groups and extras) -> its file.
    dependencies: Mapping[str, str]
    #: pyproject.toml as parsed (empty when there is none or it does not parse).
    pyproject: Mapping[str, Any]
    #: The JSON metrics file the train or evaluate command writes, ``""`` when unknown.
    metrics_file: Command | None
    _ignored: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)
    git: bool = True
    #: The files the scan could not read (a symlink out of the repository or to a
    #: device, a FIFO, over :data:`MAX_BYTES`), each with the one-line reason.
    unread: tuple[tuple[str, str], ...] = ()

    def ignored(self, path: str) -> bool:
        """Whether git ignores ``path`` (relative), tracked or not: never write there."""
        return self.ignored_paths([path])[path]

    def ignored_paths(self, paths: Sequence[str]) -> dict[str, bool]:
        """:meth:`ignored` for many paths with one ``git check-ignore`` call."""
        wanted = [p for p in dict.fromkeys(paths) if p not in self._ignored]
        if wanted and self.git:
            stdin = "".join(f"{p}\0" for p in wanted)
            proc = git(self.root, "check-ignore", "--no-index", "--stdin", "-z", input=stdin)
            hits = set(proc.stdout.decode("utf-8", "surrogateescape").split("\0"))
            self._ignored.update({p: p in hits for p in wanted})
        self._ignored.update({p: False for p in wanted if p not in self._ignored})
        return {p: self._ignored[p] for p in paths}

    def task(self, runner: str, name: str) -> Task | None:
        """The task ``name`` of ``runner`` (``make``, ``just``, ...), or None."""
        for task in self.task_runners:
            if task.runner == runner and task.name == name:
                return task
        return None


def _allows(spec: str, version: str) -> bool:
    """Whether a requires-python (or poetry ``^3.10``) specifier allows a minor version."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    if not spec.strip():
        return True
    spec = re.sub(r"\^\s*(\d+\.\d+)", r">=\1", spec)
    spec = re.sub(r"~\s*(\d+\.\d+)(?!=)", r"~=\1", spec)
    spec = re.sub(r"(?<![<>=!~])=(?!=)\s*(\d+\.\d+)(\.\*)?", r"==\1.*", spec)
    try:
        allowed = SpecifierSet(spec.replace(" ", "") if "," in spec else spec)
    except InvalidSpecifier:
        return True
    return any(allowed.contains(f"{version}.{patch}", prereleases=True) for patch in (0, 99))
