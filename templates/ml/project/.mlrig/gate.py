"""mlrig's model gate: a metrics file against a threshold and a baseline.

mlrig writes this file into a repository it did not create. It uses only the
Python standard library and never imports the repository's own code. The
pipeline runs it after the train step:

    python .mlrig/gate.py --metrics metrics.json --metric accuracy \\
        --threshold 0.8 [--baseline .mlrig/baseline.json] [--summary FILE]

The metric is a number at the top level of the JSON object, or under a
dotted path (``--metric eval.accuracy``). It passes when it is at least the
threshold and, when the baseline file exists, at most the tolerance below
the baseline's value. To commit a baseline, copy the metrics of a model you
accept: ``cp metrics.json .mlrig/baseline.json``. Exit 0 when the gate
passes, 1 when it fails or a file cannot be read (the reason is printed),
2 for bad arguments.

Costs: when the metrics file also records mlrig's cost figures at its top
level (``train_seconds``, ``peak_memory_mb``, ``model_kb``: what mlrig's
starter projects write), and the baseline has them too, each fails the gate
when it grows beyond ``--max-cost-ratio`` (1.5) times the baseline's value,
unless the growth is smaller than its slack (5 s, 64 MB, 64 KB: noise). The
table shows quality and cost side by side; a change that fails on cost
alone fails the gate.

Every statement fits on one line of 79 characters, so the formatters of the
repository (ruff, black; any line length) leave this file as it is.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

DEFAULT_BASELINE = ".mlrig/baseline.json"
#: Cost figures gated when recorded: name -> (unit, growth that never fails).
COSTS = {
    "train_seconds": ("s", 5.0),
    "peak_memory_mb": ("MB", 64.0),
    "model_kb": ("KB", 64.0),
}


class GateError(Exception):
    """A file the gate needs is missing or does not hold the metric."""


def read_metric(path: Path, metric: str, what: str) -> float:
    """The metric's value in the JSON file at ``path``; GateError if none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GateError(f"the {what} file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        problem = f"cannot read the {what} file {path}: {error}"
        raise GateError(problem) from None
    value: object = data
    for key in metric.split("."):
        if not isinstance(value, dict) or key not in value:
            found = sorted(map(str, data)) if isinstance(data, dict) else []
            keys = "keys: " + (", ".join(found) or "none")
            problem = f"the {what} file {path} has no {metric!r} ({keys})"
            raise GateError(problem)
        value = value[key]
    problem = f"{metric!r} in the {what} file {path} is not a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GateError(problem)
    if not math.isfinite(value):
        raise GateError(problem)
    return float(value)


def read_costs(path: Path) -> dict[str, float]:
    """The cost figures recorded at the top level of a JSON file, if any."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    costs = {}
    for name in COSTS:
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if math.isfinite(value):
            costs[name] = float(value)
    return costs


def cost_limit(name: str, base: float, ratio: float) -> float:
    """The highest value of the cost ``name`` the baseline ``base`` allows."""
    return max(base * ratio, base + COSTS[name][1])


def cost_rows(
    costs: dict[str, float],
    baseline: dict[str, float],
    ratio: float,
) -> tuple[list[str], list[str]]:
    """The table rows of the costs, and why they fail (empty: they pass)."""
    rows, reasons = [], []
    for name, value in costs.items():
        unit = COSTS[name][0]
        base, limit, status = "-", "-", "pass"
        if name in baseline:
            high = cost_limit(name, baseline[name], ratio)
            base, limit = f"{baseline[name]:g} {unit}", f"max {high:g} {unit}"
            if value > high + 1e-9:
                status = "FAIL"
                slack = f"{COSTS[name][1]:g} {unit}"
                reason = f"{name} {value:g} {unit} exceeds the limit"
                reason += f" {high:g} {unit} set by the baseline {base}"
                reason += f" (at most {ratio:g}x, or {slack} more)"
                reasons.append(reason)
        row = f"| {name} | {value:g} {unit} | {base} | {limit} | {status} |"
        rows.append(row)
    return rows, reasons


def verdict(
    value: float,
    threshold: float,
    baseline: float | None,
    tolerance: float,
) -> list[str]:
    """Why the value fails the gate; empty when it passes."""
    reasons = []
    if value < threshold:
        reasons.append(f"{value:.4f} is below the threshold {threshold:.4f}")
    if baseline is not None and value < baseline - tolerance - 1e-9:
        drop = f"dropped more than {tolerance:.4f} below the baseline"
        reasons.append(f"{value:.4f} {drop} {baseline:.4f}")
    return reasons


def table(
    metric: str,
    value: float,
    threshold: float,
    baseline: float | None,
    reasons: list[str],
    costs: list[str],
    failures: list[str],
) -> str:
    """The verdict as a markdown table and one sentence.

    ``reasons`` are the metric's, ``costs`` the cost rows, ``failures`` every
    reason of the verdict.
    """
    base = f"{baseline:.4f}" if baseline is not None else "-"
    status = "FAIL" if reasons else "pass"
    row = f"| {metric} | {value:.4f} | {base} | {threshold:.4f} | {status} |"
    lines = [
        "| metric | value | baseline | threshold | status |",
        "| --- | --- | --- | --- | --- |",
        row,
        *costs,
    ]
    result = "Gate passed."
    if failures:
        result = "Gate failed: " + "; ".join(failures)
    return "\n".join(lines) + f"\n\n{result}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="mlrig's metric gate.")
    add = parser.add_argument
    add("--metrics", type=Path, required=True, help="metrics JSON file")
    add("--metric", required=True, help="name or dotted path of the metric")
    add("--threshold", type=float, required=True, help="minimum value")
    add("--baseline", type=Path, help="committed baseline JSON, if any")
    add("--tolerance", type=float, default=0.05, help="allowed drop")
    add("--max-cost-ratio", type=float, default=1.5, help="cost growth")
    add("--summary", type=Path, help="append the table to this file")
    args = parser.parse_args(argv)
    try:
        value = read_metric(args.metrics, args.metric, "metrics")
        baseline = None
        if args.baseline is not None and args.baseline.exists():
            baseline = read_metric(args.baseline, args.metric, "baseline")
    except GateError as error:
        print(f"error: model gate failed: {error}", file=sys.stderr)
        return 1
    reasons = verdict(value, args.threshold, baseline, args.tolerance)
    known = read_costs(args.baseline) if baseline is not None else {}
    costs = read_costs(args.metrics)
    rows, over = cost_rows(costs, known, args.max_cost_ratio)
    metric, threshold = args.metric, args.threshold
    failures = [f"{metric} {reason}" for reason in reasons] + over
    report = table(metric, value, threshold, baseline, reasons, rows, failures)
    print(report, end="")
    if baseline is None:
        where = args.baseline or DEFAULT_BASELINE
        print(f"(no baseline: commit one as {where})")
    if args.summary is not None:
        try:
            with args.summary.open("a", encoding="utf-8") as handle:
                handle.write("## Model gate\n\n" + report + "\n")
        except OSError as error:
            print(f"warning: cannot write {args.summary}: {error}")
    if failures:
        failed = "; ".join(failures)
        print(f"error: model gate failed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
