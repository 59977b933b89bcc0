"""Metrics and the model gate.

Check a trained model's metrics against the gate in config.py and the committed
baseline (exit 0 if it passes, 1 if it fails, 2 if a file cannot be read):

    python -m <package>.evaluate --metrics artifacts/metrics.json \\
        --baseline metrics/baseline.json [--summary FILE]
"""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import config

METRICS = ("accuracy", "f1")


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


def markdown_table(
    metrics: dict[str, float],
    baseline: dict[str, float] | None,
    failures: list[str],
    metric: str,
    threshold: float,
) -> str:
    """A markdown table of the metrics, the baseline and the gate verdict."""
    lines = [
        "| metric | value | baseline | threshold | status |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in METRICS:
        if name not in metrics:
            continue
        base = f"{baseline[name]:.4f}" if baseline and name in baseline else "-"
        if name == metric:
            limit = f"{threshold:.4f}"
            status = "FAIL" if failures else "pass"
        else:
            limit, status = "-", "info"
        lines.append(f"| {name} | {metrics[name]:.4f} | {base} | {limit} | {status} |")
    verdict = "Gate failed: " + "; ".join(failures) if failures else "Gate passed."
    return "\n".join(lines) + f"\n\n{verdict}\n"


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
    for name in METRICS:
        if name in data:
            if not isinstance(data[name], (int, float)) or isinstance(data[name], bool):
                raise ValueError(f"{what} file {path}: {name!r} must be a number")
            values[name] = float(data[name])
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check model metrics against the gate.")
    parser.add_argument("--metrics", type=Path, required=True, help="metrics.json of the model")
    parser.add_argument("--baseline", type=Path, help="committed baseline metrics (JSON)")
    parser.add_argument("--summary", type=Path, help="append the markdown table to this file")
    args = parser.parse_args(argv)

    try:
        metrics = _read_metrics(args.metrics, "metrics")
        baseline = _read_metrics(args.baseline, "baseline") if args.baseline else None
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if config.GATE_METRIC not in metrics:
        print(f"error: {args.metrics} has no {config.GATE_METRIC!r} value", file=sys.stderr)
        return 2

    metric, threshold = config.GATE_METRIC, config.GATE_THRESHOLD
    failures = gate_failures(metrics, baseline, metric, threshold, config.GATE_TOLERANCE)
    table = markdown_table(metrics, baseline, failures, metric, threshold)
    print(table, end="")
    if args.summary:
        try:
            with args.summary.open("a", encoding="utf-8") as handle:
                handle.write("## Model gate\n\n" + table + "\n")
        except OSError as error:
            print(f"error: cannot write the summary to {args.summary}: {error}", file=sys.stderr)
            return 2
    if failures:
        print("error: model gate failed: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
