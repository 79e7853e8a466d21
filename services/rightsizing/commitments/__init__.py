"""Commitments: Savings Plans and RI coverage, utilisation, alerts and purchase recommendations."""
