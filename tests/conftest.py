"""Session-wide real backends and per-test isolation for every test.

``kafka_bootstrap`` / ``postgres_dsn`` are started lazily: a run of pure unit
tests starts nothing. See ``tests/harness/backends.py`` for where they come from.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator

import pytest

from devstack import leftovers
from tests.harness.backends import BackendProvider, is_session_dir
from tests.harness.isolation import PgSchema, temporary_schema, unique_token
from tests.harness.kafka_features import supports_idempotent_producer


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop what an earlier, killed run of this checkout left running, and say so.

    Only the controlling process does it (xdist workers start after it).
    """
    if hasattr(session.config, "workerinput"):
        return
    stopped = leftovers.stop_leftovers()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"stopped a leftover of an earlier run: {proc.describe()}" for proc in stopped]
    # A killed session's temp state dir (~50 MB of PostgreSQL data) goes with its servers.
    for state_dir in {p.state_dir for p in stopped if is_session_dir(p.state_dir)}:
        shutil.rmtree(state_dir, ignore_errors=True)  # type: ignore[arg-type]  # not None here
        lines.append(f"removed its state dir {state_dir}")
    for line in lines:
        if reporter is not None:
            reporter.write_line(line, yellow=True)
        else:
            print(line)


@pytest.fixture(scope="session")
def backend_provider() -> Iterator[BackendProvider]:
    """Owns the session's broker and database; stops them at the end."""
    provider = BackendProvider()
    try:
        yield provider
    finally:
        provider.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(backend_provider: BackendProvider) -> str:
    """``host:port`` of the session's Kafka-compatible broker."""
    return backend_provider.kafka_bootstrap()


@pytest.fixture(scope="session")
def postgres_dsn(backend_provider: BackendProvider) -> str:
    """DSN of the session's PostgreSQL database (share it through ``pg_schema``)."""
    return backend_provider.postgres_dsn()


@pytest.fixture(scope="session")
def kafka_enable_idempotence(kafka_bootstrap: str) -> bool:
    """Whether the session broker accepts aiokafka idempotent producers (Tansu does not).

    Pass it as ``SpendstreamSettings(kafka_enable_idempotence=...)``.
    """
    return asyncio.run(supports_idempotent_producer(kafka_bootstrap))


@pytest.fixture
def topic_prefix(request: pytest.FixtureRequest) -> str:
    """A prefix no other test uses, e.g. for ``SpendstreamSettings(topic_prefix=...)``."""
    return f"{unique_token(request.node.name)}."


@pytest.fixture
def unique_topic(topic_prefix: str) -> Callable[[str], str]:
    """``unique_topic("orders")`` -> a topic name private to this test."""

    def make(name: str) -> str:
        return f"{topic_prefix}{name}"

    return make


@pytest.fixture
def pg_schema(postgres_dsn: str, request: pytest.FixtureRequest) -> Iterator[PgSchema]:
    """A fresh schema for this test; ``.dsn`` connects with it as the search_path."""
    with temporary_schema(postgres_dsn, request.node.name) as schema:
        yield schema
