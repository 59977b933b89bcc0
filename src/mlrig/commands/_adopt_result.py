"""What ``mlrig adopt`` and ``mlrig add`` bring in and report.

The components ``mlrig add`` knows, with the one map of the template's files and
pipeline jobs to them (:func:`component_of`), and the frozen results: one
:class:`FileAction` per rendered file, one :class:`LeftOut` per stage the pipeline
leaves out, and the :class:`AdoptResult` whose :meth:`~AdoptResult.as_dict` is the
stable JSON of ``--json``. Pure data: nothing here reads or writes a repository.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Literal

from mlrig._infer import Inference
from mlrig.answers import Answers
from mlrig.validate import Finding

Component = Literal["ci", "docker", "tests", "monitoring", "sync"]


Action = Literal["write", "merge", "keep"]


#: The components ``mlrig add`` knows, in the order the help lists them.
COMPONENTS: tuple[Component, ...] = ("ci", "docker", "tests", "monitoring", "sync")


# The one map of the template's files and pipeline jobs to components (fnmatch
# patterns, first match wins). Files matching none (the starter package, data,
# pyproject.toml, README) are the "project" itself: only a full adopt brings them.
_FILE_COMPONENTS: tuple[tuple[str, Component], ...] = (
    (".github/workflows/ci.yml", "ci"),
    (".github/workflows/monitor.yml", "monitoring"),
    (".github/workflows/template-sync.yml", "sync"),
    (".github/dependabot.yml", "ci"),
    (".github/actionlint.yaml", "ci"),
    (".gitlab-ci.yml", "ci"),
    (".mlrig/*", "ci"),
    ("Dockerfile", "docker"),
    (".dockerignore", "docker"),
    ("tests/*", "tests"),
    ("src/*/monitor.py", "monitoring"),
)


#: Jobs that belong to another component than the pipeline file they are in.
JOB_COMPONENTS: dict[str, Component] = {
    "docker": "docker",
    "docker-build": "docker",
    "monitor": "monitoring",
    "template-sync": "sync",
}


@dataclass(frozen=True)
class FileAction:
    """What happens to one file of the rendered template."""

    path: str
    #: ``write``: the repo lacks it; ``merge``: mlrig's jobs go into the user's
    #: pipeline; ``keep``: the repo's own file stays as it is.
    action: Action
    #: For pipeline files: mlrig's jobs added, and mlrig's jobs the user already has.
    added_jobs: tuple[str, ...] = ()
    kept_jobs: tuple[str, ...] = ()
    #: Anything else the user should know about this file.
    notes: tuple[str, ...] = ()
    #: Why the merged file will not be accepted by its CI provider, if it will not.
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeftOut:
    """A stage the pipeline leaves out, why, and the answer (or file) that turns it on."""

    stage: str
    reason: str
    #: e.g. ``-d test_command='pytest -q'``.
    hint: str


@dataclass(frozen=True)
class AdoptResult:
    """What adopt or add did (or, with ``preview``, would do)."""

    project: Path
    #: The template version the repo is linked to (the answers file's ``_commit``).
    version: str
    #: The answers: a validated :class:`Answers` for the built-in template; for a
    #: house template, the data copier was given (it validated them).
    answers: Answers | Mapping[str, object]
    #: Inferred answers and commands with their sources; ``None`` for a managed repo.
    inference: Inference | None
    #: The answers given with ``-d``, which win over the inferred ones.
    overrides: Mapping[str, object]
    component: Component | None
    files: tuple[FileAction, ...]
    #: Problems mlrig brought into the written or merged pipeline files (schema,
    #: actionlint, a ``needs:`` the merge could not satisfy); the user's own are left out.
    findings: tuple[Finding, ...]
    preview: bool
    #: The stages left out, for a repository in existing-repository mode.
    left_out: tuple[LeftOut, ...] = ()

    def by_action(self, action: Action) -> tuple[FileAction, ...]:
        """The files with this action."""
        return tuple(f for f in self.files if f.action == action)

    def as_dict(self) -> dict[str, object]:
        """The stable JSON form of ``mlrig adopt --json`` and ``mlrig add --json``.

        ``answers`` are the values the template was rendered with; ``inferred`` the
        value each answer was inferred as, with its source (absent for a managed repo).
        """
        answers = (
            dict(self.answers) if isinstance(self.answers, Mapping) else self.answers.to_data()
        )
        inferred = (
            {
                name: {"value": item.value, "source": item.source, "note": item.note}
                for name, item in self.inference.answers.items()
            }
            if self.inference is not None
            else None
        )
        return {
            "project": str(self.project),
            "version": self.version,
            "component": self.component,
            "preview": self.preview,
            "answers": answers,
            "inferred": inferred,
            "overrides": dict(self.overrides),
            "files": [
                {
                    "path": f.path,
                    "action": f.action,
                    "added_jobs": list(f.added_jobs),
                    "kept_jobs": list(f.kept_jobs),
                    "notes": list(f.notes),
                    "problems": list(f.problems),
                }
                for f in self.files
            ],
            "left_out": [
                {"stage": left.stage, "reason": left.reason, "hint": left.hint}
                for left in self.left_out
            ],
            "findings": [f.as_dict() for f in self.findings],
        }


def component_of(path: str, job: str | None = None) -> Component | None:
    """The component a template file (or a job in a pipeline file) belongs to."""
    if job is not None and job in JOB_COMPONENTS:
        return JOB_COMPONENTS[job]
    for pattern, component in _FILE_COMPONENTS:
        if fnmatch(path, pattern):
            return component
    return None
