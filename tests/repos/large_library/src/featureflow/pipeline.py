"""A pipeline applies transforms in order, each fitted on the previous one's output."""

from __future__ import annotations

from featureflow.transforms.base import Transform


class Pipeline:
    def __init__(self, *steps: Transform) -> None:
        self.steps = steps

    def fit(self, column: list[float]) -> Pipeline:
        for step in self.steps:
            column = step.fit(column).apply(column)
        return self

    def apply(self, column: list[float]) -> list[float]:
        for step in self.steps:
            column = step.apply(column)
        return column
