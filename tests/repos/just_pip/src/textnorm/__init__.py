"""Text normalisation."""

from textnorm.normalise import normalise

__all__ = ["normalise"]
