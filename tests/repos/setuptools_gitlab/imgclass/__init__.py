"""Image classification helpers."""

__version__ = "1.4.0"
