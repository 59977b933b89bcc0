"""``mlrig template test``'s records: one combination, the whole result, a planned render."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mlrig.validate import Finding

#: Version of the JSON report's schema (see :meth:`TemplateTestResult.as_dict`).
REPORT_SCHEMA = 1
Status = Literal["pass", "fail", "skipped"]
#: The rendered project's folder: a template's default may derive the project name from it.
PROJECT_DIR = "project"


@dataclass(frozen=True)
class Combination:
    """One answer combination and what became of it."""

    #: Readable id: the multiplied values in question order, e.g. ``github-uv-sklearn-docker``.
    id: str
    #: The multiplied answers, as given to copier.
    varied: Mapping[str, object]
    #: Every answer the project was rendered with (defaults included; secrets left out).
    answers: Mapping[str, object]
    status: Status
    #: The validators' findings; for a render error, one finding from ``copier``.
    findings: tuple[Finding, ...] = ()
    #: Why a skipped combination was skipped (the validator's message).
    reason: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form of this combination (part of the stable report schema)."""
        return {
            "id": self.id,
            "status": self.status,
            "varied": dict(self.varied),
            "answers": dict(self.answers),
            "findings": [f.as_dict() for f in self.findings],
            "reason": self.reason or None,
        }


@dataclass(frozen=True)
class TemplateTestResult:
    """The outcome of testing a template: one entry per combination, in enumeration order.

    With a sample, the rendered combinations are the sample and the skipped ones
    are all those the validators rejected (skipping costs no render).
    """

    template: str
    ref: str | None
    #: Combinations the enumeration produced, skipped ones included, before sampling.
    enumerated: int
    #: Sample size asked for, or ``None`` when every valid combination was rendered.
    sample: int | None
    #: Seed of the sample (reported so that a run can be repeated exactly).
    seed: int
    combinations: tuple[Combination, ...]
    seconds: float

    def count(self, status: Status) -> int:
        """How many combinations ended with ``status``."""
        return sum(1 for combo in self.combinations if combo.status == status)

    @property
    def ok(self) -> bool:
        """Whether no rendered combination failed."""
        return self.count("fail") == 0

    def as_dict(self) -> dict[str, object]:
        """The JSON report; ``schema`` is bumped on any incompatible change."""
        return {
            "schema": REPORT_SCHEMA,
            "template": self.template,
            "ref": self.ref,
            "enumerated": self.enumerated,
            "sample": None if self.sample is None else {"size": self.sample, "seed": self.seed},
            "summary": {status: self.count(status) for status in ("pass", "fail", "skipped")},
            "seconds": round(self.seconds, 3),
            "combinations": [combo.as_dict() for combo in self.combinations],
        }


#: Called as each rendered combination finishes: the combination, how many have
#: finished, and how many are rendered in all.
OnResult = Callable[[Combination, int, int], None]


@dataclass(frozen=True)
class Planned:
    """A combination as copier's questionnaire answers it, before any render."""

    id: str
    varied: dict[str, Any]
    answers: dict[str, Any]
    #: The free-text answers (a leftover-Jinja check must not blame the user's text).
    user_text: tuple[str, ...]
    #: Why the template's validators reject it ("" when they accept it).
    reason: str

    def outcome(self, status: Status, findings: tuple[Finding, ...] = ()) -> Combination:
        """This combination, rendered and ended with ``status`` and ``findings``."""
        return Combination(self.id, self.varied, self.answers, status, findings)

    def skipped(self) -> Combination:
        """This combination, skipped for its :attr:`reason`."""
        return Combination(self.id, self.varied, self.answers, "skipped", reason=self.reason)
