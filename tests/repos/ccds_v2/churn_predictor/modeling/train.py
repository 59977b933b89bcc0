"""Fit the churn threshold on processed features (reads data/processed/features.csv)."""

import csv
from pathlib import Path

from churn_predictor.config import MODELS_DIR, PROCESSED_DATA_DIR


def fit_threshold(trends: list[float], churned: list[bool]) -> float:
    """The usage trend below which a customer is predicted to churn."""
    leaving = [t for t, c in zip(trends, churned) if c]
    staying = [t for t, c in zip(trends, churned) if not c]
    if not leaving or not staying:
        return 0.0
    return (max(leaving) + min(staying)) / 2


def main(features_path: Path = PROCESSED_DATA_DIR / "features.csv") -> None:
    with features_path.open() as handle:
        rows = list(csv.DictReader(handle))
    threshold = fit_threshold(
        [float(r["trend"]) for r in rows], [r["churned"] == "1" for r in rows]
    )
    MODELS_DIR.mkdir(exist_ok=True)
    (MODELS_DIR / "threshold.txt").write_text(f"{threshold}\n")


if __name__ == "__main__":
    main()
