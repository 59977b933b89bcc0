"""Demand forecasts."""
