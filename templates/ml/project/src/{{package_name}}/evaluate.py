"""Metrics and the model gate: quality and cost.

Check a trained model's metrics and costs against the gate and the budgets in
config.py and the committed baseline (exit 0 if it passes, 1 if it fails, 2 if a
file cannot be read):

    python -m <package>.evaluate --metrics artifacts/metrics.json \\
        --baseline metrics/baseline.json [--summary FILE] \\
        [--comment FILE [--target-baseline FILE]]

--comment writes the verdict as the body of a pull/merge request comment (a hidden
marker on its first line, the table, a bar chart), comparing with --target-baseline,
the baseline of the branch the change merges into, when that file exists.
"""

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import config
from .costs import UNITS

METRICS = ("accuracy", "f1")
COSTS = tuple(UNITS)
#: The first line of the pull/merge request comment: CI finds its own comment by it.
COMMENT_MARKER = "<!-- mlrig-model-gate -->"


def accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Share of predictions equal to the true label."""
    if not y_true:
        return 0.0
    hits = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == p)
    return hits / len(y_true)


def f1(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """F1 score of the positive class (label 1)."""
    pairs = list(zip(y_true, y_pred, strict=True))
    tp = sum(1 for t, p in pairs if t == 1 and p == 1)
    fp = sum(1 for t, p in pairs if t == 0 and p == 1)
    fn = sum(1 for t, p in pairs if t == 1 and p == 0)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def compute_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """All metrics, rounded to 4 decimals."""
    return {
        "accuracy": round(accuracy(y_true, y_pred), 4),
        "f1": round(f1(y_true, y_pred), 4),
    }


def gate_failures(
    metrics: dict[str, float],
    baseline: dict[str, float] | None,
    metric: str,
    threshold: float,
    tolerance: float,
) -> list[str]:
    """Plain-English reasons why `metrics` fail the gate; empty if they pass."""
    value = metrics[metric]
    reasons = []
    if value < threshold:
        reasons.append(f"{metric} {value:.4f} is below the threshold {threshold:.4f}")
    if baseline is not None and metric in baseline:
        floor = baseline[metric] - tolerance
        if value < floor - 1e-9:
            reasons.append(
                f"{metric} {value:.4f} dropped more than {tolerance:.4f} below "
                f"the baseline {baseline[metric]:.4f}"
            )
    return reasons


def cost_limit(name: str, baseline: Mapping[str, float] | None) -> float | None:
    """The highest value of the cost `name` that passes the budgets in config.py.

    The lower of its ceiling and COST_RATIO times the baseline's value (but at least the
    baseline's value plus the cost's slack); None when neither applies.
    """
    limits = []
    if name in config.COST_CEILINGS:
        limits.append(config.COST_CEILINGS[name])
    if baseline is not None and name in baseline:
        base = baseline[name]
        limits.append(max(base * config.COST_RATIO, base + config.COST_SLACK.get(name, 0.0)))
    return min(limits) if limits else None


def cost_failures(metrics: Mapping[str, float], baseline: Mapping[str, float] | None) -> list[str]:
    """Plain-English reasons why the recorded costs fail their budgets; empty if they pass."""
    reasons = []
    for name in COSTS:
        limit = cost_limit(name, baseline)
        if name not in metrics or limit is None or metrics[name] <= limit + 1e-9:
            continue
        value, unit = metrics[name], UNITS[name]
        ceiling = config.COST_CEILINGS.get(name)
        if ceiling is not None and value > ceiling:
            reasons.append(f"{name} {value:g} {unit} is above the budget {ceiling:g} {unit}")
        elif baseline is not None and name in baseline:
            slack = config.COST_SLACK.get(name, 0.0)
            reasons.append(
                f"{name} {value:g} {unit} exceeds the limit {limit:g} {unit} set by the "
                f"baseline {baseline[name]:g} {unit} (at most {config.COST_RATIO:g}x, "
                f"or {slack:g} {unit} more)"
            )
    return reasons


def table_rows(
    metrics: Mapping[str, float],
    baseline: Mapping[str, float] | None,
    failures: list[str],
    metric: str,
    threshold: float,
) -> list[str]:
    """Quality and cost side by side: the lines of a markdown table.

    `failures` are the reasons of gate_failures and cost_failures together; a row fails
    when one of them names it.
    """
    lines = [
        "| metric | value | baseline | threshold | status |",
        "| --- | --- | --- | --- | --- |",
    ]

    def status(name: str) -> str:
        return "FAIL" if any(f.startswith(f"{name} ") for f in failures) else "pass"

    for name in METRICS:
        if name not in metrics:
            continue
        base = f"{baseline[name]:.4f}" if baseline and name in baseline else "-"
        limit, state = (f"{threshold:.4f}", status(name)) if name == metric else ("-", "info")
        lines.append(f"| {name} | {metrics[name]:.4f} | {base} | {limit} | {state} |")
    for name in COSTS:
        if name not in metrics:
            continue
        unit = UNITS[name]
        base = f"{baseline[name]:g} {unit}" if baseline and name in baseline else "-"
        ceiling = cost_limit(name, baseline)
        limit = f"max {ceiling:g} {unit}" if ceiling is not None else "-"
        lines.append(f"| {name} | {metrics[name]:g} {unit} | {base} | {limit} | {status(name)} |")
    return lines


def verdict_line(failures: list[str]) -> str:
    """The gate's verdict in one sentence."""
    return "Gate failed: " + "; ".join(failures) if failures else "Gate passed."


def markdown_table(
    metrics: Mapping[str, float],
    baseline: Mapping[str, float] | None,
    failures: list[str],
    metric: str,
    threshold: float,
) -> str:
    """The table of table_rows and the verdict, as the job log and summary show them."""
    rows = table_rows(metrics, baseline, failures, metric, threshold)
    return "\n".join(rows) + f"\n\n{verdict_line(failures)}\n"


_EIGHTHS = " ▏▎▍▌▋▊▉"


def _bar(value: float, scale: float, width: int = 24) -> str:
    """A unicode bar of `value` on a scale where `scale` fills `width` characters."""
    eighths = round(max(value, 0.0) / scale * width * 8) if scale > 0 else 0
    full, part = divmod(eighths, 8)
    return ("█" * full + _EIGHTHS[part].strip()).ljust(width)


def bar_chart(metrics: Mapping[str, float], baseline: Mapping[str, float] | None) -> str:
    """This change's figures against the baseline's, as unicode bars (one scale per row)."""
    rows = []
    for name in (*METRICS, *COSTS):
        if name not in metrics:
            continue
        unit = f" {UNITS[name]}" if name in UNITS else ""
        value = metrics[name]
        base = baseline.get(name) if baseline else None
        scale = max(value, base or 0.0)
        rows.append(f"{name:<15} change   {_bar(value, scale)} {value:g}{unit}")
        if base is not None:
            rows.append(f"{'':<15} baseline {_bar(base, scale)} {base:g}{unit}")
    return "```text\n" + "\n".join(rows) + "\n```\n"


def comment_body(
    metrics: Mapping[str, float],
    failures: list[str],
    target: Mapping[str, float] | None,
    target_failures: list[str],
    own_baseline: bool,
) -> str:
    """The pull/merge request comment: the gate's verdict, then the change against `target`.

    `failures` is the gate's verdict, against the change's committed baseline; `target` is
    the baseline of the branch the change merges into (None: CI found none) and
    `target_failures` what the same checks say against it. `own_baseline` is true when the
    change adds or updates its committed baseline, which the verdict then compares with.
    """
    metric, threshold = config.GATE_METRIC, config.GATE_THRESHOLD
    lines = [COMMENT_MARKER, f"## Model gate {'failed ❌' if failures else 'passed ✅'}", ""]
    if target is None:
        lines.append("CI found no baseline on the target branch: the figures stand alone.")
    else:
        lines.append("Quality and cost of this change against the target branch's baseline:")
    lines += ["", *table_rows(metrics, target, target_failures, metric, threshold), ""]
    lines.append(bar_chart(metrics, target))
    if own_baseline:
        lines.append(
            "This change adds or updates the committed baseline; the gate compares with it. "
            + verdict_line(failures)
        )
    else:
        lines.append(verdict_line(failures))
    return "\n".join(lines) + "\n"


def _read_metrics(path: Path, what: str) -> dict[str, float]:
    """Read a metrics JSON file; raise ValueError with a readable message."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{what} file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read {what} file {path}: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{what} file {path} must hold a JSON object")
    values = {}
    for name in (*METRICS, *COSTS):
        if name in data:
            if not isinstance(data[name], (int, float)) or isinstance(data[name], bool):
                raise ValueError(f"{what} file {path}: {name!r} must be a number")
            values[name] = float(data[name])
    return values


def _write(path: Path, text: str, mode: str) -> None:
    """Write or append `text`; raise ValueError with a readable message."""
    try:
        with path.open(mode, encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise ValueError(f"cannot write {path}: {error}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check model metrics and costs against the gate.")
    parser.add_argument("--metrics", type=Path, required=True, help="metrics.json of the model")
    parser.add_argument("--baseline", type=Path, help="committed baseline metrics (JSON)")
    parser.add_argument("--summary", type=Path, help="append the markdown table to this file")
    parser.add_argument("--comment", type=Path, help="write the pull/merge request comment here")
    parser.add_argument(
        "--target-baseline",
        type=Path,
        help="baseline of the target branch, for --comment (when the file exists)",
    )
    args = parser.parse_args(argv)

    try:
        metrics = _read_metrics(args.metrics, "metrics")
        baseline = _read_metrics(args.baseline, "baseline") if args.baseline else None
        target = baseline
        if args.target_baseline is not None:
            exists = args.target_baseline.exists()
            target = _read_metrics(args.target_baseline, "target baseline") if exists else None
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if config.GATE_METRIC not in metrics:
        print(f"error: {args.metrics} has no {config.GATE_METRIC!r} value", file=sys.stderr)
        return 2

    metric, threshold = config.GATE_METRIC, config.GATE_THRESHOLD
    failures = [
        *gate_failures(metrics, baseline, metric, threshold, config.GATE_TOLERANCE),
        *cost_failures(metrics, baseline),
    ]
    table = markdown_table(metrics, baseline, failures, metric, threshold)
    print(table, end="")
    try:
        if args.summary:
            _write(args.summary, "## Model gate\n\n" + table + "\n", "a")
        if args.comment:
            target_failures = [
                *gate_failures(metrics, target, metric, threshold, config.GATE_TOLERANCE),
                *cost_failures(metrics, target),
            ]
            own = target is not None and target != baseline
            body = comment_body(metrics, failures, target, target_failures, own)
            _write(args.comment, body, "w")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if failures:
        print("error: model gate failed: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
