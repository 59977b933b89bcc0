import unittest

from imgclass.evaluate import top_k_accuracy
from imgclass.preprocess import center_crop, normalise


class PreprocessTest(unittest.TestCase):
    def test_normalise(self):
        self.assertEqual(normalise([[0, 255]]), [[0.0, 1.0]])

    def test_center_crop(self):
        image = [[r * 4 + c for c in range(4)] for r in range(4)]
        self.assertEqual(center_crop(image, 2), [[5, 6], [9, 10]])

    def test_top_k(self):
        scores = [[0.1, 0.9], [0.8, 0.2]]
        self.assertEqual(top_k_accuracy(scores, [1, 1]), 0.5)
        self.assertEqual(top_k_accuracy(scores, [1, 1], k=2), 1.0)
