from forecast.features import lag


def test_lag_shifts_values():
    assert lag([1.0, 2.0, 3.0], 1) == [None, 1.0, 2.0]
