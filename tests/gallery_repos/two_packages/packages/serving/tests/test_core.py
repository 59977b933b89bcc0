from serving.core import scale


def test_scale():
    assert scale(50) == 0.5


def test_scale_zero():
    assert scale(0) == 0
