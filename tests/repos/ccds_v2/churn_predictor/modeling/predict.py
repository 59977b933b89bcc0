"""Predict churn from a usage trend and a fitted threshold."""


def predict(trend: float, threshold: float) -> bool:
    """True when the customer is predicted to leave."""
    return trend < threshold
