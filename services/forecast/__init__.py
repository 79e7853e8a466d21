"""Forecast service: daily cost forecasts with backtested model choice and budget alerts."""
