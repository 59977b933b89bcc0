"""The word weights the score adds up."""

POSITIVE = {"good": 1.0, "great": 2.0, "love": 2.0, "fast": 0.5}
NEGATIVE = {"bad": -1.0, "broken": -2.0, "slow": -0.5, "refund": -1.5}
WEIGHTS = {**POSITIVE, **NEGATIVE}
