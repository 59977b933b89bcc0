from __future__ import annotations


class Transform:
    def fit(self, column: list[float]) -> Transform:
        return self

    def apply(self, column: list[float]) -> list[float]:
        raise NotImplementedError
