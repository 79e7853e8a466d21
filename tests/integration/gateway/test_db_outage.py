"""PostgreSQL stops mid-stream and comes back: the consumer waits, retries, loses nothing.

A dedicated PostgreSQL server is started for this test (the session's server is
shared with other tests and must not be stopped).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from devstack import processes
from devstack.ports import LOOPBACK
from devstack.postgres import (
    Postgres,
    server_bin_dir,
    server_os_user,
    start_postgres,
    stop_postgres,
)
from services.gateway.settings import GatewaySettings
from tests.harness.wait import wait_for, wait_for_async
from tests.integration.gateway.helpers import (
    RunningGateway,
    publish,
    records_consumed,
    running_gateway,
    snapshot,
)
from tests.integration.gateway.test_consumer import workload

pytestmark = pytest.mark.integration


class DedicatedPostgres:
    """A PostgreSQL server this test may stop and restart on the same port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.server: Postgres | None = None
        self.port: int | None = None
        self.password = ""

    def start(self) -> Postgres:
        self.server = start_postgres(self.root, self.root / "postgres", self.root / "pg-1.log")
        self.port = self.server.port
        self.password = self.server.password
        return self.server

    def restart(self) -> None:
        """Start the same data directory on the same port again.

        ``start_postgres`` refuses a port that its bind probe finds busy, and the
        old server's TIME_WAIT sockets make it look busy for a minute; PostgreSQL
        itself binds with SO_REUSEADDR, so it is started here directly.
        """
        assert self.port is not None
        user = server_os_user()
        data_dir = self.root / "postgres" / "data"
        log_path = self.root / "pg-2.log"
        argv = [str(server_bin_dir() / "postgres"), "-D", str(data_dir), "-p", str(self.port)]
        argv += ["-c", f"listen_addresses={LOOPBACK}", "-c", "unix_socket_directories="]
        pid = processes.spawn_detached(
            argv,
            env=dict(os.environ),
            state_dir=self.root,
            log_path=log_path,
            cwd=data_dir,
            uid=user.uid if user else None,
            gid=user.gid if user else None,
        )
        self.server = Postgres(pid=pid, port=self.port, password=self.password, log_path=log_path)
        dsn = self.server.dsn

        def accepts_logins() -> bool:
            with psycopg.connect(dsn, connect_timeout=1):
                return True

        wait_for(accepts_logins, ignore=(psycopg.OperationalError,), description="restart")

    def stop(self) -> None:
        if self.server is not None:
            stop_postgres(self.server.pid, self.root)
            self.server = None


@pytest.fixture
def dedicated_postgres() -> Iterator[DedicatedPostgres]:
    root = Path(tempfile.mkdtemp(prefix="gateway-outage-"))
    root.chmod(0o755)  # the server runs as an unprivileged user when we are root
    pg = DedicatedPostgres(root)
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def retries(gw: RunningGateway) -> float:
    return sum(
        s.value
        for m in gw.state.registry.collect()
        if m.name.endswith("gateway_db_retries")
        for s in m.samples
        if s.name.endswith("_total")
    )


async def test_postgres_outage_mid_stream_loses_nothing(
    make_settings: Callable[..., GatewaySettings], dedicated_postgres: DedicatedPostgres
) -> None:
    # start_postgres runs its own event loop for the readiness probe: keep it off ours.
    server = await asyncio.to_thread(dedicated_postgres.start)
    settings = make_settings(
        postgres_dsn=server.dsn,
        gateway_pg_schema="gateway",
        gateway_run_consumer=True,
        gateway_db_retry_max_wait_s=0.5,
    )
    events = workload()
    half = len(events) // 2
    async with running_gateway(settings) as gw:
        await publish(settings, events[:half])
        await wait_for_async(lambda: records_consumed(gw) >= half, description="first half")

        await asyncio.to_thread(dedicated_postgres.stop)
        await publish(settings, events[half:])
        await wait_for_async(lambda: retries(gw) >= 3, description="consumer retrying")
        assert records_consumed(gw) < len(events)

        await asyncio.to_thread(dedicated_postgres.restart)
        await wait_for_async(
            lambda: records_consumed(gw) >= len(events), timeout=60, description="second half"
        )
        tables = await snapshot(gw)
    assert len(tables["anomalies"]) == 20
    assert {r[3] for r in tables["anomalies"]} == {"resolved"}
    assert len(tables["anomaly_events"]) == 60
    assert len(tables["recommendations"]) == 20
    assert len(tables["costs_daily"]) == 20
    assert len(tables["restatements"]) == 2
    assert len(tables["alert_outbox"]) == 66  # see test_consumer: 64 + 2 restatements
    assert len(tables["dead_letters"]) == 1
