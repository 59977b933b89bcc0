"""Monitor the model the pipeline published on the newest data.

    python -m <package>.monitor --out monitoring [--source URL] [--run-url URL]

The model is the published one: before this runs, CI downloads the newest `artifacts`
artifact of a successful pipeline on the default branch into artifacts/ (the model,
metrics.json and reference.json). Monitoring never trains a model; without one it says
so and exits 2.

The data comes from --source, by default the environment variable MONITOR_DATA_URL: a
path, a file:// or http(s):// URL, or an object-store URI such as s3://bucket/new.csv
(read with fsspec: add it and the store's plugin, e.g. s3fs, to the dependencies). It
is a CSV file with the columns of data/train.csv; the label column is optional.

- With labels, the gate decides, as in CI: the gate metric against the threshold in
  config.py and metrics/baseline.json (within the tolerance). Drift is shown as well.
- Without labels, each feature's drift decides: its Population Stability Index (PSI,
  see drift.py) against the training data's statistics in artifacts/reference.json; a
  PSI above config.DRIFT_PSI_THRESHOLD is a degradation.

With no source configured, the first line printed is "rehearsal: no data source
configured (set MONITOR_DATA_URL)": it runs on the shipped sample data/train.csv and its
report is labelled a rehearsal. It never reports a model healthy on that data, and it
writes no issue.

Writes into --out: report.md (with drift.svg, a bar chart of each feature's PSI) and
metrics.json; on a degradation outside a rehearsal also issue.md and issue.json (title,
description, labels), the payload CI posts as the one monitoring issue.

Exit codes: 0 healthy (or a rehearsal that found nothing), 1 degraded, 2 no published
model, unusable data or reference statistics, or the output cannot be written.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from . import config, drift
from .data import check_csv
from .evaluate import _read_metrics, compute_metrics, gate_failures
from .train import MODEL_FILE, load_model, predict

SOURCE_VARIABLE = "MONITOR_DATA_URL"
REHEARSAL = f"rehearsal: no data source configured (set {SOURCE_VARIABLE})"
ISSUE_TITLE = "Model degradation detected by monitoring"
ISSUE_LABEL = "model-degradation"
FETCH_TIMEOUT = 60  # seconds


class MonitorError(Exception):
    """Monitoring cannot run; the message says what is wrong and what to do."""


def shown(source: str) -> str:
    """`source` for logs and reports: a URL's query (a presigned credential, say) left out."""
    return source.split("?", 1)[0] + "?..." if urllib.parse.urlsplit(source).query else source


def fetch(source: str, directory: Path) -> Path:
    """A local file holding the data at `source` (a path, URL or object-store URI)."""
    parts = urllib.parse.urlsplit(source)
    # One letter is a Windows drive (C:\\data.csv), not a scheme.
    if len(parts.scheme) <= 1:
        return Path(source)
    if parts.scheme == "file":
        return Path(urllib.request.url2pathname(parts.path))
    target = directory / "data.csv"
    if parts.scheme in ("http", "https"):
        try:
            with (
                urllib.request.urlopen(source, timeout=FETCH_TIMEOUT) as response,
                target.open("wb") as handle,
            ):
                shutil.copyfileobj(response, handle)
        except OSError as error:
            raise MonitorError(f"cannot download {shown(source)}: {error}") from None
        return target
    try:
        import fsspec
    except ImportError:
        raise MonitorError(
            f"reading {parts.scheme}:// needs fsspec and its plugin for that store "
            "(e.g. s3fs, gcsfs, adlfs): add them to the project's dependencies"
        ) from None
    try:
        with fsspec.open(source, "rb") as remote, target.open("wb") as handle:
            shutil.copyfileobj(remote, handle)
    except Exception as error:  # fsspec's plugins raise their own error types
        raise MonitorError(f"cannot read {shown(source)}: {error}") from None
    return target


def _svg(psi: dict[str, float], threshold: float) -> str:
    """A horizontal bar chart of each feature's PSI, with the threshold as a dashed line."""
    width, left, bar, gap = 520, 110, 22, 10
    top = 30
    height = top + len(psi) * (bar + gap) + 30
    scale_max = max([threshold * 1.5, *psi.values()])
    span = width - left - 60

    def x(value: float) -> float:
        return left + span * value / scale_max

    rows = []
    for i, (name, value) in enumerate(psi.items()):
        y = top + i * (bar + gap)
        colour = "#c0392b" if value > threshold else "#2e86c1"
        rows.append(
            f'<text x="{left - 8}" y="{y + bar * 0.7:.0f}" text-anchor="end">{name}</text>'
            f'<rect x="{left}" y="{y}" width="{max(x(value) - left, 1):.1f}" height="{bar}" '
            f'fill="{colour}"/>'
            f'<text x="{x(value) + 6:.1f}" y="{y + bar * 0.7:.0f}">{value:.3f}</text>'
        )
    line = x(threshold)
    bottom = height - 24
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="13">\n'
        f'<text x="{left}" y="18" font-weight="bold">Feature drift (PSI) against the '
        f"training data</text>\n" + "\n".join(rows) + "\n"
        f'<line x1="{line:.1f}" y1="{top - 6}" x2="{line:.1f}" y2="{bottom}" stroke="#000" '
        f'stroke-dasharray="4 3"/>\n'
        f'<text x="{line:.1f}" y="{bottom + 16}" text-anchor="middle">threshold '
        f"{threshold:g}</text>\n</svg>\n"
    )


def _report(result: dict[str, Any]) -> str:
    """The markdown report of one monitoring run."""
    lines = []
    if result["rehearsal"]:
        lines += [REHEARSAL, ""]
    lines += ["# Model monitoring", "", f"**Status: {result['status']}**", ""]
    lines += [f"- data: {result['source']} ({result['rows']} rows)", f"- model: {result['model']}"]
    if result["run_url"]:
        lines.append(f"- run: {result['run_url']}")
    lines.append("")
    if result["findings"]:
        lines += ["Findings:", "", *(f"- {finding}" for finding in result["findings"]), ""]
    metrics = result["metrics"]
    if metrics:
        metric = config.GATE_METRIC
        baseline = result["baseline"]
        base = f"{baseline[metric]:.4f}" if baseline and metric in baseline else "-"
        lines += [
            "## Gate metric (the data has labels)",
            "",
            "| metric | value | baseline | threshold |",
            "| --- | --- | --- | --- |",
            f"| {metric} | {metrics[metric]:.4f} | {base} | {config.GATE_THRESHOLD:.4f} |",
            "",
        ]
    decides = "informational: the labels decide" if metrics else "decides: the data has no labels"
    lines += [
        f"## Feature drift (PSI, {decides})",
        "",
        "| feature | PSI | threshold | status |",
        "| --- | --- | --- | --- |",
    ]
    for name, value in result["drift"].items():
        status = "drifted" if value > config.DRIFT_PSI_THRESHOLD else "stable"
        lines.append(f"| {name} | {value:.4f} | {config.DRIFT_PSI_THRESHOLD:g} | {status} |")
    lines += ["", "![Feature drift](drift.svg)", ""]
    return "\n".join(lines)


def monitor(
    model_dir: Path, data: Path, source: str, baseline_path: Path, rehearsal: bool, run_url: str
) -> dict[str, Any]:
    """Evaluate the published model in `model_dir` on the CSV file `data`.

    Returns the result (status, findings, metrics, drift, ...); raises MonitorError
    when the model, the data or the reference statistics cannot be used.
    """
    model_path = model_dir / MODEL_FILE
    if not model_path.is_file():
        raise MonitorError(
            f"no published model: {model_path} does not exist. Monitoring evaluates the model "
            "CI published (the `artifacts` artifact of a successful pipeline on the default "
            "branch); run that pipeline first, or download its artifact into "
            f"{model_dir}/ to run this locally"
        )
    try:
        model = load_model(model_path)
    except Exception as error:  # a corrupt or incompatible model file
        raise MonitorError(f"cannot load the model {model_path}: {error}") from None
    reference = drift.read_reference(model_dir / drift.REFERENCE_FILE)

    problems, dataset = check_csv(data, require_label=False)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise MonitorError(f"the data from {source} is not usable: {problems[0]}{more}")

    psi = drift.feature_drift(reference, dataset.X)
    findings = [
        f"{name} drifted: PSI {value:.4f} is above {config.DRIFT_PSI_THRESHOLD:g}"
        for name, value in psi.items()
        if value > config.DRIFT_PSI_THRESHOLD
    ]
    metrics: dict[str, float] = {}
    baseline = None
    if dataset.y:
        metrics = compute_metrics(dataset.y, predict(model, dataset.X))
        try:
            baseline = _read_metrics(baseline_path, "baseline") if baseline_path.is_file() else None
        except ValueError as error:
            raise MonitorError(str(error)) from None
        findings = gate_failures(
            metrics, baseline, config.GATE_METRIC, config.GATE_THRESHOLD, config.GATE_TOLERANCE
        )
    degraded = bool(findings)
    if rehearsal:
        status = "rehearsal (findings on the shipped sample)" if degraded else "rehearsal"
    else:
        status = "degraded" if degraded else "healthy"
    return {
        "status": status,
        "degraded": degraded,
        "rehearsal": rehearsal,
        "source": source,
        "rows": len(dataset),
        "labelled": bool(dataset.y),
        "model": str(model_path),
        "run_url": run_url,
        "findings": findings,
        "metrics": metrics,
        "baseline": baseline,
        "gate_metric": config.GATE_METRIC,
        "threshold": config.GATE_THRESHOLD,
        "drift_method": "psi",
        "drift_threshold": config.DRIFT_PSI_THRESHOLD,
        "drift": psi,
    }


def write_outputs(result: dict[str, Any], out: Path) -> None:
    """The report, the chart, metrics.json and, on a real degradation, the issue payload."""
    out.mkdir(parents=True, exist_ok=True)
    report = _report(result)
    (out / "report.md").write_text(report, encoding="utf-8")
    (out / "drift.svg").write_text(
        _svg(result["drift"], config.DRIFT_PSI_THRESHOLD), encoding="utf-8"
    )
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for stale in ("issue.md", "issue.json"):
        (out / stale).unlink(missing_ok=True)
    if result["degraded"] and not result["rehearsal"]:
        # An issue cannot show the run's files: the chart stays in the artifact.
        chart = "![Feature drift](drift.svg)"
        body = report.replace(chart, "The chart (drift.svg) is in the run's `monitoring` artifact.")
        (out / "issue.md").write_text(body, encoding="utf-8")
        issue = {"title": ISSUE_TITLE, "description": body, "labels": ISSUE_LABEL}
        (out / "issue.json").write_text(json.dumps(issue, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Monitor the published model on new data.")
    parser.add_argument("--out", type=Path, default=Path("monitoring"), help="output directory")
    parser.add_argument(
        "--model-dir", type=Path, default=Path("artifacts"), help="the published model's directory"
    )
    parser.add_argument(
        "--source",
        default=os.environ.get(SOURCE_VARIABLE, ""),
        help=f"path, URL or object-store URI of the new data (default: ${SOURCE_VARIABLE})",
    )
    parser.add_argument(
        "--sample",
        type=Path,
        default=Path("data/train.csv"),
        help="the shipped sample a rehearsal runs on",
    )
    parser.add_argument(
        "--baseline", type=Path, default=Path("metrics/baseline.json"), help="baseline metrics"
    )
    parser.add_argument("--run-url", default="", help="link to the CI run, for the report")
    args = parser.parse_args(argv)

    source = args.source.strip()
    rehearsal = not source
    if rehearsal:
        print(REHEARSAL)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            data = args.sample if rehearsal else fetch(source, Path(scratch))
            label = f"{args.sample} (the shipped sample)" if rehearsal else shown(source)
            result = monitor(args.model_dir, data, label, args.baseline, rehearsal, args.run_url)
    except (MonitorError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        write_outputs(result, args.out)
    except OSError as error:
        print(f"error: cannot write to {args.out}: {error}", file=sys.stderr)
        return 2

    what = f"{result['rows']} rows of {result['source']}"
    if result["degraded"]:
        for finding in result["findings"]:
            print(f"error: {finding}", file=sys.stderr)
        label = "rehearsal found" if rehearsal else "model degraded:"
        print(f"error: {label} {len(result['findings'])} finding(s) on {what}", file=sys.stderr)
        return 1
    if rehearsal:
        print(f"rehearsal passed on {what}: configure {SOURCE_VARIABLE} to monitor real data")
    else:
        checked = f"{config.GATE_METRIC} passes the gate" if result["labelled"] else "no drift"
        print(f"model healthy: {checked} on {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
