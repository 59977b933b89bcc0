import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from evaluate import predict  # noqa: E402
from prepare import split  # noqa: E402
from train import centroids  # noqa: E402


def test_split_is_deterministic():
    rows = [str(i) for i in range(8)]
    assert split(rows, 0.25, 1) == split(rows, 0.25, 1)
    assert len(split(rows, 0.25, 1)[1]) == 2


def test_centroids_and_predict():
    rows = [
        {"species": "a", "sepal_length": "1", "petal_length": "1"},
        {"species": "a", "sepal_length": "3", "petal_length": "3"},
        {"species": "b", "sepal_length": "9", "petal_length": "9"},
    ]
    model = centroids(rows)
    assert model == {"a": [2.0, 2.0], "b": [9.0, 9.0]}
    assert predict(model, 8.0, 8.5) == "b"
