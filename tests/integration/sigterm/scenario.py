"""What the SIGTERM test asks of each service: input, "busy", and the complete output.

A scenario produces its input before the first start, says when the service is
visibly working (its first outputs exist), may check what the stopped run left
behind, and finally waits for the restarted run to produce the whole expected
output and asserts it holds every expected item exactly once.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from shared.codec import decode
from shared.events import Event
from shared.settings import SpendstreamSettings
from shared.topics import Topic
from tests.harness.isolation import PgSchema
from tests.integration.anomaly.helpers import read_all
from tests.integration.sigterm.process import ServiceProcess


@dataclass(frozen=True)
class Context:
    """One test's isolated backends: topic prefix, scratch folder, database schema."""

    bootstrap: str
    prefix: str
    tmp: Path
    postgres_dsn: str | None = None
    schema: PgSchema | None = None

    def settings(self) -> SpendstreamSettings:
        """Client settings for the test's own producers and readers."""
        return SpendstreamSettings(
            kafka_bootstrap_servers=self.bootstrap,
            topic_prefix=self.prefix,
            kafka_enable_idempotence=False,  # Tansu rejects InitProducerId
            log_json=False,
        )

    def events_on(self, topic: Topic) -> list[Event]:
        """Every event on ``topic`` right now, decoded."""
        records = asyncio.run(read_all(self.bootstrap, self.prefix, topic))
        return [decode(v, h, topic.values) for v, h in records]  # type: ignore[misc]  # values are bytes


class Scenario(ABC):
    """One service's part of the parametrised SIGTERM test."""

    service: str
    needs_postgres: bool = False
    # Until the first outputs appear: process start, group join, the first batch.
    busy_timeout_s: float = 90.0
    # Until the restarted run has produced everything (it replays or resumes).
    finish_timeout_s: float = 120.0

    @abstractmethod
    def prepare(self, ctx: Context) -> dict[str, str]:
        """Create the input; return the service's own environment variables."""

    @abstractmethod
    def busy(self, ctx: Context) -> bool:
        """True once the service's first outputs are visible."""

    def stopped(self, ctx: Context) -> None:
        """Check what a SIGTERM-ed run left committed (after each run; default: nothing)."""
        return None

    @abstractmethod
    def finished(self, ctx: Context, service: ServiceProcess) -> None:
        """Wait for the restarted run's complete output; assert each item exactly once."""
