"""Classification metrics without dependencies."""

from metricskit.binary import f1, precision, recall

__all__ = ["f1", "precision", "recall"]
