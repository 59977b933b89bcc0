import numpy as np

from helpers.linear import fit, r2


def test_fit_recovers_a_line():
    x = np.arange(10.0)
    slope, intercept = fit(x, 3 * x + 2)
    assert round(slope, 6) == 3.0
    assert round(intercept, 6) == 2.0


def test_r2_of_a_perfect_fit_is_one():
    y = np.array([1.0, 2.0, 4.0])
    assert r2(y, y) == 1.0
