"""Predict which customers leave."""

from churn_predictor import config  # noqa: F401
