import pytest

from forecast.model import mean_absolute_error, seasonal_average


def test_seasonal_average_uses_the_same_weekday():
    history = [float(d % 7) for d in range(21)]
    assert seasonal_average(history) == 0.0


def test_short_history_is_refused():
    with pytest.raises(ValueError, match="shorter than one period"):
        seasonal_average([1.0, 2.0])


def test_mae():
    assert mean_absolute_error([1.0, 3.0], [2.0, 1.0]) == 1.5
