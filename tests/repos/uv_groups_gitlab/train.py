"""Backtest the forecast on the bundled sample and write artifacts/metrics.json."""

import json
from pathlib import Path

from forecast.model import mean_absolute_error, seasonal_average

SAMPLE = [float(10 + (day % 7) * 3 + (day // 7)) for day in range(56)]


def main() -> None:
    actual, predicted = [], []
    for day in range(28, len(SAMPLE)):
        actual.append(SAMPLE[day])
        predicted.append(seasonal_average(SAMPLE[:day]))
    out = Path("artifacts")
    out.mkdir(exist_ok=True)
    metrics = {"mae": round(mean_absolute_error(actual, predicted), 4)}
    (out / "metrics.json").write_text(json.dumps(metrics) + "\n")
    print(metrics)


if __name__ == "__main__":
    main()
