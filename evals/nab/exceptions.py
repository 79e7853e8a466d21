"""Exceptions of the NAB scorer and runner, all under one root."""


class NabError(Exception):
    """Root of every NAB scoring/runner error; the message says what to fix."""


class NabDataError(NabError):
    """A NAB data, label, profile or result file is missing or malformed."""
