"""What ``mlrig doctor`` reports, typed: findings, tool results, the report and its JSON form.

The findings themselves are decided in :mod:`mlrig._doctor_findings`; the terminal
table is drawn by the CLI (:mod:`mlrig.cli.doctor`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from mlrig._doctor_ci import STAGES, CiReport
from mlrig._doctor_scan import Dependencies, FoundTests, LargeFile, Secret
from mlrig._repo import Repo

__all__ = [
    "IMPACT",
    "MAX_LISTED",
    "SCHEMA_VERSION",
    "SEVERITIES",
    "DoctorFinding",
    "DoctorReport",
    "FindingId",
    "Severity",
    "TemplateStatus",
    "ToolFailure",
    "ToolFinding",
    "listed",
    "plural",
]

#: Version of the ``--json`` document; bumped only on incompatible changes.
SCHEMA_VERSION = 1
#: How many items a finding's detail names before "and N more".
MAX_LISTED = 8


class Severity(str, Enum):
    """How urgent a finding is; a high one makes ``mlrig doctor`` exit 1. Most urgent first."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class FindingId(str, Enum):
    """The stable id of each kind of finding, in the order of how much fixing it matters."""

    COMMITTED_SECRETS = "committed-secrets"
    NO_CI = "no-ci"
    WORKFLOW_SECURITY = "workflow-security"
    LARGE_FILES = "large-files"
    NO_TESTS = "no-tests"
    CI_GAPS = "ci-gaps"
    STAGE_CANNOT_RUN = "stage-cannot-run"
    CI_PYTHON = "ci-python"
    CI_UNPARSABLE = "ci-unparsable"
    FILES_UNREADABLE = "files-unreadable"
    DEPENDENCIES_UNPINNED = "dependencies-unpinned"
    DEPENDENCIES_UNDECLARED = "dependencies-undeclared"
    TEMPLATE_BEHIND = "template-behind"
    PYTHON_UNSUPPORTED = "python-unsupported"
    UNTESTED_NOTEBOOKS = "untested-notebooks"
    DOCKERFILE_LINT = "dockerfile-lint"
    NO_MONITORING = "no-monitoring"
    NO_DOCKERFILE = "no-dockerfile"
    NO_TEMPLATE_SYNC = "no-template-sync"
    NOT_MANAGED = "not-managed"
    TEMPLATE_UNKNOWN = "template-unknown"
    CHECK_SKIPPED = "check-skipped"


#: Severities, most urgent first.
SEVERITIES: tuple[Severity, ...] = tuple(Severity)
#: Within a severity, findings are ranked by how much fixing them matters.
IMPACT: tuple[FindingId, ...] = tuple(FindingId)


@dataclass(frozen=True)
class DoctorFinding:
    """One problem: a stable ``id``, its ``severity``, and the command that fixes it."""

    id: FindingId
    severity: Severity
    title: str
    detail: str
    fix: str
    paths: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """The finding's JSON form."""
        return {
            "id": self.id.value,
            "severity": self.severity.value,
            "title": self.title,
            "detail": self.detail,
            "fix": self.fix,
            "paths": list(self.paths),
        }

    @property
    def rank(self) -> tuple[int, int, str]:
        """Sort key: severity, then impact, then title."""
        return SEVERITIES.index(self.severity), IMPACT.index(self.id), self.title


@dataclass(frozen=True)
class ToolFinding:
    """One finding of hadolint or zizmor: doctor's severity for it, the rule, where, what."""

    tool: str
    severity: Severity
    rule: str
    #: ``file:line``, or ``""`` when the tool names no place.
    place: str
    message: str


@dataclass(frozen=True)
class ToolFailure:
    """A validator that ran but could not check the files, and why, in one line."""

    tool: str
    reason: str

    @property
    def message(self) -> str:
        """What the ``check-skipped`` finding says about it."""
        return f"{self.tool} could not check the files: {self.reason}"


@dataclass(frozen=True)
class TemplateStatus:
    """The template an mlrig/copier-managed project records and how far behind it is.

    ``latest`` and ``behind`` are None when the template cannot be reached;
    ``problem`` then says why.
    """

    template: str
    current: str
    latest: str | None
    behind: int | None
    problem: str = ""


@dataclass(frozen=True)
class DoctorReport:
    """What doctor found in ``project``: the facts it looked at and the ranked findings."""

    project: Path
    ci: CiReport
    tests: FoundTests
    dependencies: Dependencies
    dockerfiles: tuple[str, ...]
    #: hadolint's findings on the Dockerfiles.
    hadolint: tuple[ToolFinding, ...]
    #: zizmor's (pedantic) findings on the GitHub workflows.
    workflow_security: tuple[ToolFinding, ...]
    notebooks: tuple[str, ...]
    notebooks_tested: bool
    large_files: tuple[LargeFile, ...]
    secrets: tuple[Secret, ...]
    managed: bool
    template: TemplateStatus | None
    skipped: tuple[str, ...]
    python_files: int
    findings: tuple[DoctorFinding, ...] = field(default=())
    #: The repository model the CI facts and stage checks come from.
    repo: Repo | None = None
    #: Why each file doctor could not read (a symlink out of the repository or to a
    #: device, a FIFO, a file over the size bound) was skipped, by path.
    unread: tuple[tuple[str, str], ...] = ()
    #: The validators that ran but could not check their files (zizmor first).
    tool_failures: tuple[ToolFailure, ...] = ()

    @property
    def has_high(self) -> bool:
        """True when a high-severity finding exists (``mlrig doctor`` then exits 1)."""
        return any(f.severity is Severity.HIGH for f in self.findings)

    def as_dict(self) -> dict[str, object]:
        """The stable JSON form of ``mlrig doctor --json`` (see the CLI's help)."""
        counts = {s.value: sum(f.severity is s for f in self.findings) for s in SEVERITIES}
        template = self.template
        return {
            "schema": SCHEMA_VERSION,
            "project": str(self.project),
            "status": "problems" if self.has_high else "ok",
            "summary": counts,
            "facts": {
                "ci": {
                    "providers": list(self.ci.providers),
                    "files": list(self.ci.files),
                    "jobs": [
                        {"file": j.file, "name": j.name, "covers": list(j.covers)}
                        for j in self.ci.jobs
                    ],
                    "covered": {s: list(self.ci.covered(s)) for s in STAGES},
                    "missing": list(self.ci.missing) if self.ci.files else list(STAGES),
                },
                "stages": {
                    stage: {
                        "command": command.text,
                        "source": command.source,
                        "runnable": command.runnable,
                        "why": command.why,
                    }
                    for stage, command in (self.repo.stages.items() if self.repo else ())
                },
                "python": {
                    "version": self.repo.python.version,
                    "source": self.repo.python.source,
                    "supported": self.repo.python.supported,
                    "requires": self.repo.python.requires,
                }
                if self.repo
                else None,
                "tests": {"files": len(self.tests.files), "functions": self.tests.functions},
                "dependencies": {
                    "status": self.dependencies.status,
                    "files": list(self.dependencies.files),
                },
                "docker": {
                    "dockerfiles": list(self.dockerfiles),
                    "hadolint_findings": self._count("hadolint", self.hadolint),
                },
                "workflow_security_findings": self._count("zizmor", self.workflow_security),
                "python_files": self.python_files,
                "notebooks": {"count": len(self.notebooks), "tested": self.notebooks_tested},
                "large_files": [
                    {"path": f.path, "size": f.size, "tracked": f.tracked} for f in self.large_files
                ],
                "secrets": [{"path": s.path, "line": s.line, "kind": s.kind} for s in self.secrets],
                "mlrig": {
                    "managed": self.managed,
                    "template": template.template if template else None,
                    "current": template.current if template else None,
                    "latest": template.latest if template else None,
                    "behind": template.behind if template else None,
                },
                "skipped_checks": list(self.skipped),
            },
            "findings": [f.as_dict() for f in self.findings],
        }

    def _count(self, tool: str, findings: tuple[ToolFinding, ...]) -> int:
        # Schema 1 has always counted a run that could not check the files as one finding.
        return len(findings) + sum(failure.tool == tool for failure in self.tool_failures)


def plural(count: int, noun: str) -> str:
    """``count`` and ``noun``, with an ``s`` unless ``count`` is 1: ``3 findings``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def listed(items: list[str]) -> str:
    """The first :data:`MAX_LISTED` of ``items``, comma-separated, then how many more."""
    more = len(items) - MAX_LISTED
    return ", ".join(items[:MAX_LISTED]) + (f" and {more} more" if more > 0 else "")
