import torch

from vision_model.net import SmallNet


def test_output_shape():
    assert SmallNet(3)(torch.zeros(2, 1, 28, 28)).shape == (2, 3)
