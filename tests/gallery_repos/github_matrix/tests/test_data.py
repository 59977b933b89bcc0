from churn.data import load


def test_load_returns_features_and_labels():
    features, labels = load(sample=5)
    assert len(features) == len(labels) == 5


def test_label_is_not_a_feature():
    features, _ = load(sample=1)
    assert "label" not in features.columns
