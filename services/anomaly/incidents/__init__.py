"""Incident lifecycle (open, update, resolve) with deterministic ids."""
