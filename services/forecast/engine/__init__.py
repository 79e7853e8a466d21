"""The pure refresh pipeline (backtest, select, forecast) and the bounded history store."""
