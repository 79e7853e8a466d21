"""Every service stops cleanly on SIGTERM within its grace period, committing nothing unprocessed.

Each service runs as a real process on real backends, is given enough input to
be busy, and gets SIGTERM once its first outputs appear (what ``kubectl
delete`` does). It must exit 0 within its Deployment's
``terminationGracePeriodSeconds``. A second run on the same topics and state
then finishes the work; the complete expected output must exist with every
item exactly once: an offset committed before its record was processed would
show up as a missing item, a record processed but not committed as a duplicate.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.ports import free_port
from tests.harness.wait import wait_for
from tests.integration.sigterm.anomaly import AnomalySigterm
from tests.integration.sigterm.forecast import ForecastSigterm
from tests.integration.sigterm.gateway import GatewaySigterm
from tests.integration.sigterm.ingestor import IngestorSigterm
from tests.integration.sigterm.process import ServiceProcess, grace_period_s
from tests.integration.sigterm.rightsizing import RightsizingSigterm
from tests.integration.sigterm.scenario import Context, Scenario

pytestmark = pytest.mark.integration

SCENARIOS: dict[str, type[Scenario]] = {
    s.service: s
    for s in (AnomalySigterm, ForecastSigterm, GatewaySigterm, IngestorSigterm, RightsizingSigterm)
}


def common_env(ctx: Context) -> dict[str, str]:
    """What every service gets: the test's broker, prefix and state folder, JSON logs."""
    env = {
        "SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS": ctx.bootstrap,
        "SPENDSTREAM_TOPIC_PREFIX": ctx.prefix,
        # Tansu rejects InitProducerId (deploy/embedded notes); ids dedupe downstream.
        "SPENDSTREAM_KAFKA_ENABLE_IDEMPOTENCE": "false",
        "SPENDSTREAM_STATE_DIR": str(ctx.tmp / "state"),
        "SPENDSTREAM_LOG_JSON": "true",
    }
    if ctx.postgres_dsn is not None and ctx.schema is not None:
        env["SPENDSTREAM_POSTGRES_DSN"] = ctx.postgres_dsn
        env["SPENDSTREAM_GATEWAY_PG_SCHEMA"] = ctx.schema.name
        env["SPENDSTREAM_GATEWAY_HTTP_PORT"] = str(free_port())
    return env


def stopped_on_signal(service: ServiceProcess) -> bool:
    """The skeleton logged its clean end after the stop event (not a crash, not a return)."""
    return any(r.get("signalled") is True for r in service.logged("service stopped"))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_sigterm_while_busy_exits_zero_in_grace_and_restart_completes_exactly_once(
    name: str,
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    scenario = SCENARIOS[name]()
    ctx = Context(kafka_bootstrap, topic_prefix, tmp_path)
    if scenario.needs_postgres:
        ctx = Context(
            kafka_bootstrap,
            topic_prefix,
            tmp_path,
            request.getfixturevalue("postgres_dsn"),
            request.getfixturevalue("pg_schema"),
        )
    env = {**common_env(ctx), **scenario.prepare(ctx)}
    grace = grace_period_s(name)

    first = ServiceProcess(name, env, tmp_path / "first.log")
    try:
        wait_for(
            lambda: first.alive() and scenario.busy(ctx),
            timeout=scenario.busy_timeout_s,
            interval=0.2,
            description=f"{name} busy with its input",
        )
        code = first.terminate(grace)
    finally:
        first.kill()
    assert code == 0, f"{name} exited {code} on SIGTERM:\n{first.tail()}"
    assert stopped_on_signal(first), first.tail()
    scenario.stopped(ctx)

    restarted = ServiceProcess(name, env, tmp_path / "restarted.log")
    try:
        # Until the skeleton logs its start, SIGTERM still has its default action.
        wait_for(
            lambda: restarted.alive() and restarted.logged("service starting"),
            timeout=scenario.busy_timeout_s,
            description=f"{name} restarted",
        )
        scenario.finished(ctx, restarted)
        code = restarted.terminate(grace)
    finally:
        restarted.kill()
    assert code == 0, f"{name} exited {code} on its second SIGTERM:\n{restarted.tail()}"
    scenario.stopped(ctx)
