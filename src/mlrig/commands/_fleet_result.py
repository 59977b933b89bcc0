"""What ``mlrig fleet check|update`` reports: one :class:`RepoStatus` per repository,
and the :class:`FleetResult` whose :meth:`~FleetResult.as_dict` is the stable JSON
of ``--json``. Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

FleetCommand = Literal["check", "update"]


FleetStatus = Literal["current", "behind", "updated", "conflict", "error", "skipped"]


STATUSES: tuple[FleetStatus, ...] = ("current", "behind", "updated", "conflict", "error", "skipped")


_OK: dict[FleetCommand, frozenset[FleetStatus]] = {
    "check": frozenset({"current"}),
    "update": frozenset({"current", "updated"}),
}


@dataclass(frozen=True)
class RepoStatus:
    """What the fleet found in, or did to, one repository."""

    repo: Path
    status: FleetStatus
    #: The project's template version before, and the newest (check) or target (update).
    from_version: str | None
    to_version: str | None
    #: One line for a person: why it was skipped, the error, what was committed.
    message: str
    template: str | None = None
    #: The update branch and its commit: made now (``updated``), or found waiting for
    #: review by ``check`` (``behind``); otherwise ``None``.
    branch: str | None = None
    commit: str | None = None
    #: ``update`` only: files the merge left with conflicts (nothing was committed).
    conflicts: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """One entry of the stable JSON report; every key is always present."""
        return {
            "repo": str(self.repo),
            "status": self.status,
            "template": self.template,
            "from": self.from_version,
            "to": self.to_version,
            "branch": self.branch,
            "commit": self.commit,
            "conflicts": list(self.conflicts),
            "message": self.message,
        }


@dataclass(frozen=True)
class FleetResult:
    """Every repository's status, in the order the repositories were given."""

    command: FleetCommand
    repos: tuple[RepoStatus, ...]

    @property
    def ok(self) -> bool:
        """True when every repository is current (check) or current or updated (update)."""
        return all(r.status in _OK[self.command] for r in self.repos)

    def counts(self) -> dict[FleetStatus, int]:
        """How many repositories have each status (every status, zeros included)."""
        return {s: sum(r.status == s for r in self.repos) for s in STATUSES}

    def as_dict(self) -> dict[str, object]:
        """The stable JSON document of ``mlrig fleet check|update --json``."""
        return {
            "command": self.command,
            "ok": self.ok,
            "counts": self.counts(),
            "repos": [r.as_dict() for r in self.repos],
        }
