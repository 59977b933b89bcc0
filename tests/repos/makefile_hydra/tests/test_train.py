import pytest

from src.models.perceptron import accuracy, samples, train
from src.train import parse


def test_overrides_are_typed():
    assert parse(["trainer.max_epochs=3"])["trainer.max_epochs"] == 3


def test_unknown_override_is_refused():
    with pytest.raises(SystemExit):
        parse(["trainer.gpus=1"])


@pytest.mark.slow
def test_training_learns_the_middle_column():
    data = samples(1)
    assert accuracy(train(data, 20, 0.1), data) > 0.9


def test_one_epoch_runs():
    data = samples(2)
    assert 0.0 <= accuracy(train(data, 1, 0.1), data) <= 1.0
