from __future__ import annotations

import statistics

from featureflow.transforms.base import Transform


class MinMax(Transform):
    def fit(self, column: list[float]) -> MinMax:
        self.low, self.high = min(column), max(column)
        return self

    def apply(self, column: list[float]) -> list[float]:
        span = (self.high - self.low) or 1.0
        return [(v - self.low) / span for v in column]


class Standardise(Transform):
    def fit(self, column: list[float]) -> Standardise:
        self.mean = statistics.fmean(column)
        self.stdev = statistics.pstdev(column) or 1.0
        return self

    def apply(self, column: list[float]) -> list[float]:
        return [(v - self.mean) / self.stdev for v in column]
