"""Evaluations on public and simulated data; each writes a report under docs/."""
