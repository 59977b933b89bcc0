"""``mlrig check``: is a project on the newest version of its template?

Fast enough for a pre-commit hook: it reads the answers file and lists the
template's version tags with one ``git ls-remote``; it never imports copier.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlrig._record import read_record, refuse_ahead
from mlrig.templates import is_builtin, template_source, template_versions

__all__ = ["CheckResult", "check"]


@dataclass(frozen=True)
class CheckResult:
    """The project's template version against the newest one."""

    project: Path
    template: str
    current: str
    latest: str

    @property
    def behind(self) -> bool:
        """True when a newer template version exists."""
        return self.current != self.latest

    def as_dict(self) -> dict[str, str]:
        """The stable JSON form of ``mlrig check --json``."""
        return {
            "project": str(self.project),
            "template": self.template,
            "current": self.current,
            "latest": self.latest,
            "status": "behind" if self.behind else "current",
        }


def check(dest: Path) -> CheckResult:
    """Compare the template version recorded in ``dest`` with the template's newest tag.

    Raises :class:`~mlrig.errors.InvalidInputError` when the project has no usable
    answers file or records a version newer than the template's newest (a newer
    mlrig made it: no "behind" then), and :class:`~mlrig.errors.EnvironmentProblem`
    when the template cannot be reached.
    """
    project = Path(os.path.abspath(dest))
    record = read_record(project, command="check")
    source = template_source(record.src_path)
    versions = template_versions(source)
    refuse_ahead(project, record, versions, builtin=is_builtin(record.src_path))
    return CheckResult(project, source, record.version, versions[-1])
