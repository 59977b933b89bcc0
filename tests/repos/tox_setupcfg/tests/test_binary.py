from metricskit import f1, precision, recall


def test_metrics():
    y_true = [1, 1, 0, 0]
    y_pred = [1, 0, 1, 0]
    assert precision(y_true, y_pred) == 0.5
    assert recall(y_true, y_pred) == 0.5
    assert f1(y_true, y_pred) == 0.5


def test_no_positive_predictions():
    assert precision([1], [0]) == 0.0
