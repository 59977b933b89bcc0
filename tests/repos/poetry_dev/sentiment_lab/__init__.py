"""Sentiment scores for product reviews."""

from sentiment_lab.score import score

__all__ = ["score"]
