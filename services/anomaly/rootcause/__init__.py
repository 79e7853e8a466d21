"""Contribution-based root cause ranking."""
