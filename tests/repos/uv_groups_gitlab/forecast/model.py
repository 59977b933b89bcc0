"""A seasonal moving average: next day's demand from the same weekday's history."""


def seasonal_average(history: list[float], period: int = 7, window: int = 2) -> float:
    """Mean of the last ``window`` values one ``period`` apart, ending one period back."""
    picks = [history[-period * k] for k in range(1, window + 1) if period * k <= len(history)]
    if not picks:
        raise ValueError("history shorter than one period")
    return sum(picks) / len(picks)


def mean_absolute_error(actual: list[float], predicted: list[float]) -> float:
    return sum(abs(a - p) for a, p in zip(actual, predicted, strict=True)) / len(actual)
