"""Errors of the simulator, all under :class:`SimulationError`."""

from __future__ import annotations


class SimulationError(Exception):
    """Root of the simulator's exceptions; the message says what to change."""


class SimConfigError(SimulationError):
    """A :class:`~simulator.config.SimConfig` value is out of range."""


class UnknownInstanceError(SimulationError, KeyError):
    """An instance id that the simulated fleet does not contain."""


class WriterError(SimulationError):
    """A writer was given an unknown format, grain or destination."""
