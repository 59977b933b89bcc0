"""What ``mlrig update`` reports: the frozen :class:`UpdateResult` and its changes.

:meth:`UpdateResult.as_dict` is the stable JSON of ``mlrig update --json``, which the
template-sync job reads. Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlrig.validate import Finding

ConflictMode = Literal["inline", "rej"]


ChangeStatus = Literal["added", "changed", "deleted", "conflict"]


@dataclass(frozen=True)
class FileChange:
    """One file the update adds, changes or deletes, or leaves with a conflict."""

    status: ChangeStatus
    path: str


@dataclass(frozen=True)
class UpdateResult:
    """What an update did (or, with ``preview``, would do)."""

    project: Path
    template: str
    from_version: str
    to_version: str
    changes: tuple[FileChange, ...]
    #: True when the changes were written to the project.
    applied: bool
    #: Problems in the merged pipeline files (broken YAML, schema, actionlint).
    findings: tuple[Finding, ...]
    #: Why the dependency lock the updated pipelines install could not be added, with
    #: the command to run; ``None`` when it was added or not needed.
    lock_problem: str | None = None

    @property
    def conflicts(self) -> tuple[str, ...]:
        """Files that hold conflict markers (or have a ``.rej`` file) after the merge."""
        return tuple(c.path for c in self.changes if c.status == "conflict")

    def as_dict(self) -> dict[str, object]:
        """The stable JSON form of ``mlrig update --json`` (the template-sync job reads it).

        ``status`` is ``current`` (nothing to do), ``conflicts`` (files are left with
        conflicts) or ``updated``; ``applied`` says whether the project was changed
        (false for a preview), ``findings`` what the merged pipelines got wrong,
        ``lock_problem`` why the lock they install could not be added (or ``null``).
        """
        status = "current" if not self.changes else "conflicts" if self.conflicts else "updated"
        return {
            "project": str(self.project),
            "template": self.template,
            "status": status,
            "from": self.from_version,
            "to": self.to_version,
            "applied": self.applied,
            "conflicts": list(self.conflicts),
            "changes": [{"status": c.status, "path": c.path} for c in self.changes],
            "findings": [f.as_dict() for f in self.findings],
            "lock_problem": self.lock_problem,
        }
