"""Features computed from one customer's monthly usage."""

from itertools import pairwise


def usage_trend(minutes: list[float]) -> float:
    """Average month-over-month change in minutes used (0.0 for fewer than two months)."""
    if len(minutes) < 2:
        return 0.0
    steps = [later - earlier for earlier, later in pairwise(minutes)]
    return sum(steps) / len(steps)


def build_features(minutes: list[float], tickets: int) -> dict[str, float]:
    """The model's input row for one customer."""
    return {
        "mean_minutes": sum(minutes) / len(minutes) if minutes else 0.0,
        "trend": usage_trend(minutes),
        "tickets": float(tickets),
    }
