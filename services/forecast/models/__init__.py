"""Forecasting models behind one protocol: ``fit(history)`` then ``predict(horizon)``."""
