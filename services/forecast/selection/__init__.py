"""Choosing one model per series from its backtest scores."""
