"""Helpers shared by the notebooks."""
