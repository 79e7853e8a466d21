"""Every error the right-sizing service raises derives from one root."""

from __future__ import annotations

from shared.state_codec import ChangelogDecodeError


class RightsizingError(Exception):
    """Root of the right-sizing service's errors; catch this to catch them all."""


class BadDatapointError(RightsizingError):
    """A datapoint decoded fine but its value cannot be a utilisation; it goes to the DLQ."""


class CatalogueError(RightsizingError):
    """The instance catalogue is missing, malformed or lacks a type or region."""


class StateDecodeError(RightsizingError, ChangelogDecodeError):
    """A changelog record could not be turned back into instance state."""
