"""Pixel preprocessing on nested lists (rows of grey values 0-255)."""


def normalise(image):
    """Scale grey values to [0, 1]."""
    return [[pixel / 255.0 for pixel in row] for row in image]


def center_crop(image, size):
    """The central ``size`` x ``size`` square of ``image``."""
    top = (len(image) - size) // 2
    left = (len(image[0]) - size) // 2
    bottom, right = top + size, left + size
    return [row[left:right] for row in image[top:bottom]]
