"""Anomaly service."""
