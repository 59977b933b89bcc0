from churn_predictor.features import build_features, usage_trend
from churn_predictor.modeling.predict import predict
from churn_predictor.modeling.train import fit_threshold


def test_usage_trend_averages_monthly_changes():
    assert usage_trend([100.0, 80.0, 70.0]) == -15.0
    assert usage_trend([5.0]) == 0.0


def test_build_features_row():
    row = build_features([10.0, 20.0], tickets=3)
    assert row == {"mean_minutes": 15.0, "trend": 10.0, "tickets": 3.0}


def test_threshold_separates_leavers_from_stayers():
    threshold = fit_threshold([-20.0, -10.0, 5.0, 8.0], [True, True, False, False])
    assert threshold == -2.5
    assert predict(-11.0, threshold)
    assert not predict(6.0, threshold)
