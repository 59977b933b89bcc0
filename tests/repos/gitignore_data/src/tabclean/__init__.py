"""Cleaning rules for tabular exports."""
