"""The validators doctor runs (hadolint, zizmor) and their JSON reports read into typed findings.

How each tool is invoked is :mod:`mlrig.validate`'s (one home for the tools);
doctor asks for JSON so that it keeps each finding's rule and severity.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mlrig._doctor_report import Severity, ToolFailure, ToolFinding
from mlrig.validate import Check, hadolint_argv, zizmor_argv

__all__ = ["ToolResult", "doctor_checks", "parse_hadolint", "parse_zizmor", "read_result"]

# The tools' own levels, as doctor ranks them; any other is low.
_LEVELS = {
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "error": Severity.MEDIUM,
    "warning": Severity.MEDIUM,
}


@dataclass(frozen=True)
class ToolResult:
    """What one tool reported: its findings, or why it could not check the files."""

    findings: tuple[ToolFinding, ...] = ()
    failure: ToolFailure | None = None


def doctor_checks(dockerfiles: Sequence[str], workflows: Sequence[str]) -> list[Check]:
    """hadolint on ``dockerfiles`` and zizmor (pedantic) on ``workflows``, JSON out."""
    checks = []
    if dockerfiles:
        argv = hadolint_argv(dockerfiles, "--no-fail", "--format", "json")
        checks.append(Check("hadolint", argv, _as_lines(parse_hadolint)))
    if workflows:
        argv = zizmor_argv(workflows, "--quiet", "--format=json")
        checks.append(Check("zizmor", argv, _as_lines(parse_zizmor)))
    return checks


def read_result(tool: str, output: str, returncode: int) -> ToolResult:
    """The typed result of one of :func:`doctor_checks`' tools from its output and exit code."""
    return (parse_hadolint if tool == "hadolint" else parse_zizmor)(output, returncode)


def _as_lines(parse: Callable[[str, int], ToolResult]) -> Callable[[str, int], list[str]]:
    """A check's parser as :func:`mlrig.validate.collect_checks` takes it: one line a finding."""

    def lines(output: str, returncode: int) -> list[str]:
        result = parse(output, returncode)
        if result.failure is not None:
            return [result.failure.message]
        return [": ".join(filter(None, (f.place, f.rule, f.message))) for f in result.findings]

    return lines


def _json_list(output: str) -> list[dict[str, object]] | None:
    start = output.find("[")
    try:
        data, _ = json.JSONDecoder().raw_decode(output, start) if start >= 0 else (None, 0)
    except json.JSONDecodeError:
        return None
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else None


def _failure(tool: str, output: str, returncode: int) -> ToolResult:
    lines: list[str] = []
    for line in map(str.strip, output.splitlines()):
        # What follows is a Rust error chain and backtrace: too much for one line.
        if line in {"Caused by:", "Stack backtrace:"}:
            break
        lines += [line] if line else []
    reason = "; ".join(lines[:3]) or f"exit code {returncode}"
    return ToolResult(failure=ToolFailure(tool, reason))


def _finding(tool: str, level: object, rule: object, place: str, message: object) -> ToolFinding:
    severity = _LEVELS.get(str(level).lower(), Severity.LOW)
    return ToolFinding(tool, severity, str(rule), place, str(message))


def parse_hadolint(output: str, returncode: int) -> ToolResult:
    """hadolint's JSON report (``--format json --no-fail``) as typed findings."""
    items = _json_list(output)
    if items is None or returncode != 0:
        return _failure("hadolint", output, returncode)
    return ToolResult(
        tuple(
            _finding(
                "hadolint",
                i.get("level"),
                i.get("code"),
                f"{i.get('file')}:{i.get('line')}",
                i.get("message"),
            )
            for i in items
        )
    )


def parse_zizmor(output: str, returncode: int) -> ToolResult:
    """zizmor's JSON report as typed findings."""
    items = _json_list(output)
    # zizmor exits 10 + the highest severity when it has findings.
    if items is None or returncode not in {0, 10, 11, 12, 13, 14}:
        return _failure("zizmor", output, returncode)
    findings = []
    for item in items:
        determinations = item.get("determinations")
        severity = determinations.get("severity") if isinstance(determinations, dict) else None
        findings.append(
            _finding("zizmor", severity, item.get("ident"), _zizmor_place(item), item.get("desc"))
        )
    return ToolResult(tuple(findings))


def _zizmor_place(item: dict[str, object]) -> str:
    locations = item.get("locations")
    for location in locations if isinstance(locations, list) else []:
        try:
            path = location["symbolic"]["key"]["Local"]["verbatim_path"]
            row = location["concrete"]["location"]["start_point"]["row"]
        except (KeyError, TypeError):
            continue
        return f"{path}:{int(row) + 1}"
    return ""
