"""Composable feature transforms."""

from featureflow.__about__ import __version__
from featureflow.pipeline import Pipeline

__all__ = ["Pipeline", "__version__"]
