"""Feature drift: the Population Stability Index (PSI) against the training data.

At train time `reference_statistics` records, for each feature, the edges of
`config.DRIFT_BINS` quantile bins of the training rows and the share of rows in each
bin; train.py writes them to artifacts/reference.json beside the model. Monitoring
bins the new rows the same way and compares the two distributions:

    PSI = sum over bins of (new share - reference share) * ln(new share / reference share)

A feature whose PSI exceeds `config.DRIFT_PSI_THRESHOLD` has drifted. The usual reading
is below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a significant one. PSI
needs no labels and no dependencies, and it grows with the size of the shift, not with
the number of rows (unlike a KS test's p-value, which flags tiny shifts on large data).
"""

import json
import math
from bisect import bisect_right
from pathlib import Path

from . import config
from .data import FEATURES

REFERENCE_FILE = "reference.json"
# Share given to an empty bin, so that the logarithm stays finite.
_EMPTY_SHARE = 1e-4


def _quantile_edges(values: list[float], bins: int) -> list[float]:
    """The distinct inner edges that split `values` into `bins` bins of equal counts."""
    ordered = sorted(values)
    edges = {ordered[min(len(ordered) - 1, (len(ordered) * i) // bins)] for i in range(1, bins)}
    return sorted(edges)


def _shares(values: list[float], edges: list[float]) -> list[float]:
    """Share of `values` in each bin; bin i holds edges[i-1] <= value < edges[i]."""
    counts = [0] * (len(edges) + 1)
    for value in values:
        counts[bisect_right(edges, value)] += 1
    return [count / len(values) for count in counts]


def reference_statistics(X: list[list[float]], bins: int | None = None) -> dict[str, object]:
    """Per-feature bin edges and shares of the training rows `X` (in FEATURES order)."""
    bins = bins or config.DRIFT_BINS
    features: dict[str, object] = {}
    for name, column in zip(FEATURES, zip(*X, strict=True), strict=True):
        values = list(column)
        edges = _quantile_edges(values, bins)
        features[name] = {
            "edges": edges,
            "shares": _shares(values, edges),
            "mean": sum(values) / len(values),
        }
    return {"method": "psi", "rows": len(X), "features": features}


def write_reference(X: list[list[float]], directory: Path) -> Path:
    """Write the reference statistics of `X` to directory/reference.json; return the path."""
    path = directory / REFERENCE_FILE
    path.write_text(json.dumps(reference_statistics(X), indent=2) + "\n", encoding="utf-8")
    return path


def read_reference(path: Path) -> dict[str, dict[str, list[float]]]:
    """The per-feature statistics in `path`; ValueError with a readable message if unusable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(
            f"{path} does not exist: the published model predates drift monitoring; "
            "retrain it (the train command writes it)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read {path}: {error}") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, dict) or set(features) != set(FEATURES):
        raise ValueError(f"{path} must hold the statistics of the features {', '.join(FEATURES)}")
    for name, stats in features.items():
        edges, shares = stats.get("edges"), stats.get("shares")
        if not isinstance(edges, list) or not isinstance(shares, list):
            raise ValueError(f"{path}: {name!r} needs lists 'edges' and 'shares'")
        if len(shares) != len(edges) + 1:
            raise ValueError(f"{path}: {name!r} needs one more share than edges")
    return features


def psi(reference: dict[str, list[float]], values: list[float]) -> float:
    """The PSI of `values` against one feature's reference edges and shares."""
    expected = reference["shares"]
    actual = _shares(values, reference["edges"])
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, _EMPTY_SHARE), max(a, _EMPTY_SHARE)
        total += (a - e) * math.log(a / e)
    return round(total, 4)


def feature_drift(
    reference: dict[str, dict[str, list[float]]], X: list[list[float]]
) -> dict[str, float]:
    """The PSI of each feature of the rows `X` (in FEATURES order) against `reference`."""
    columns = [list(column) for column in zip(*X, strict=True)]
    return {
        name: psi(reference[name], column) for name, column in zip(FEATURES, columns, strict=True)
    }
