"""Anomaly detectors (pure: no I/O imports)."""
