"""Rolling-origin backtests, accuracy metrics and interval calibration."""
