import pytest

from iris_clf.model import train


def test_train_fits():
    assert train().score is not None


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_depth_is_respected(depth):
    assert train(depth).get_depth() <= depth


class TestAccuracy:
    def test_training_accuracy(self):
        from sklearn.datasets import load_iris

        data = load_iris()
        assert train().score(data.data, data.target) > 0.9
