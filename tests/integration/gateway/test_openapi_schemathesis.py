"""Property-based API test: schemathesis drives every operation from the OpenAPI spec.

Passes only with zero 5xx and zero schema violations (status codes, content
types, headers and bodies all as documented). The SSE stream is excluded: an
endless response cannot be validated as one document (it has its own test).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.gateway.api.state import GatewayState
from services.gateway.repositories import ingest, tenants
from services.gateway.settings import GatewaySettings
from tests.harness.isolation import temporary_schema, unique_token
from tests.integration.gateway.helpers import NO_RATE_LIMITS, SECRETS_KEY
from tests.integration.gateway.threaded import ThreadedGateway
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration
# Enough to hit every parameter's edge cases while keeping the run well under a minute.
MAX_EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
ACCOUNT = "111111111111"
# Every call answers in milliseconds; a hang must fail the case, not stall the suite.
REQUEST_TIMEOUT_S = 10


async def _seed(state: GatewayState) -> str:
    async with state.pool.acquire() as conn:
        await tenants.create_tenant(conn, "acme", [ACCOUNT, "222222222222"])
        token = (await tenants.create_key(conn, "acme", "admin")).token
        events = [
            f.anomaly("inc-1"),
            f.anomaly("inc-1", "update", 1, minute=1),
            f.anomaly("inc-2", minute=2),
            f.recommendation("i-1"),
            f.recommendation("i-2", regression=True, savings=3.0),
            f.forecast(f"daily/{ACCOUNT}"),
            f.cost(day=0),
            f.cost(day=1),
            f.budget_alert("ba-1"),
            f.restatement(day=0),
            f.restatement(previous=100.0, new=400.0, day=1),
            f.implementation("i-1"),
            f.implementation("i-2", realised=None, minute=1),
        ]
        await ingest.store(conn, [(e, "n/a") for e in events])
        await ingest.store(conn, [(f.dead_letter(1), "spendstream.anomalies.v1.dlq")])
    return token


@pytest.fixture(scope="module")
def served_gateway(
    postgres_dsn: str, kafka_bootstrap: str
) -> Iterator[tuple[ThreadedGateway, str]]:
    with temporary_schema(postgres_dsn, "schemathesis") as schema:
        prefix = f"{unique_token('schemathesis')}."
        gateway = ThreadedGateway(
            GatewaySettings(
                _env_file=None,
                postgres_dsn=postgres_dsn,
                gateway_pg_schema=schema.name,
                kafka_bootstrap_servers=kafka_bootstrap,
                kafka_enable_idempotence=False,
                topic_prefix=prefix,
                gateway_run_consumer=False,
                gateway_run_delivery=False,
                # Schemathesis reads /openapi.json anonymously.
                gateway_docs_public=True,
                gateway_secrets_key=SECRETS_KEY,
                **NO_RATE_LIMITS,
                log_json=False,
                log_level="WARNING",
            )
        )
        gateway.start()
        try:
            key = gateway.call(_seed(gateway.state))
            yield gateway, key
        finally:
            gateway.stop()


@pytest.fixture(scope="module")
def api_schema(served_gateway: tuple[ThreadedGateway, str]) -> schemathesis.BaseSchema:
    gateway, _ = served_gateway
    return schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema").exclude(path="/v1/alerts/stream")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_openapi_conformance(
    case: schemathesis.Case, served_gateway: tuple[ThreadedGateway, str]
) -> None:
    gateway, key = served_gateway
    case.call_and_validate(
        base_url=gateway.url,
        headers={"Authorization": f"Bearer {key}"},
        checks=CHECKS,
        timeout=REQUEST_TIMEOUT_S,
    )
