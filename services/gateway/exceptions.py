"""Errors the gateway raises on purpose; each says what went wrong and what to do."""

from __future__ import annotations


class GatewayError(Exception):
    """Root of every gateway error."""


class MigrationError(GatewayError):
    """The database schema could not be brought up to date."""


class AdminError(GatewayError):
    """An admin command was asked to do something impossible (unknown tenant, taken account)."""
