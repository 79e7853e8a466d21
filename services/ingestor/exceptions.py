"""Every error the ingestor raises derives from :class:`IngestorError`."""

from __future__ import annotations


class IngestorError(Exception):
    """Root of the ingestor's exceptions; the message says what to do."""


class FileRefused(IngestorError):  # noqa: N818 - a refusal, not a crash
    """A whole data file cannot be read (unknown format, corrupt gzip/Parquet, missing columns).

    The delivery goes on without it; the file is dead-lettered with this reason.
    """


class ManifestError(IngestorError):
    """A manifest is unreadable or names no data files."""


class SourceError(IngestorError):
    """A CUR source (directory or S3 prefix) cannot be listed or read."""


class ConfigError(IngestorError):
    """Ingestor configuration (accounts, roles, regions) is invalid."""
