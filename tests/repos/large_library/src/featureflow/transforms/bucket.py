from __future__ import annotations

import bisect

from featureflow.transforms.base import Transform


class Bucketise(Transform):
    def __init__(self, edges: list[float]) -> None:
        self.edges = sorted(edges)

    def apply(self, column: list[float]) -> list[float]:
        return [float(bisect.bisect_right(self.edges, v)) for v in column]
