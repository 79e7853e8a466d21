"""Security test fixtures: the real gateway on the session's broker and database.

Same shape as the gateway integration fixtures, plus an operator token, so a
test can tell "an operator may" from "a tenant may not".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from services.gateway.settings import GatewaySettings
from tests.harness.isolation import PgSchema
from tests.integration.gateway.helpers import RunningGateway, running_gateway

pytestmark = pytest.mark.integration

# Test loops poll fast so conditions hold within a fraction of a second.
FAST_POLL_S = 0.05
# Test receivers listen on loopback over http: tests that deliver pass this allow-list.
LOOPBACK_RECEIVERS = {
    "gateway_webhook_allow_http": True,
    "gateway_webhook_allow_networks": ("127.0.0.0/8",),
}
OPERATOR_TOKEN = "op-" + "s3cr3t-operator-token-for-tests-only-" * 2
# Seals webhook secrets at rest; a fixed test-only Fernet key.
SECRETS_KEY = "eJ8xYDqK9kRNGRoXI4hErccwcbBKmpS0NgaT0Sib85g="


@pytest.fixture
def make_settings(
    postgres_dsn: str, kafka_bootstrap: str, pg_schema: PgSchema, topic_prefix: str
) -> Callable[..., GatewaySettings]:
    """Settings for this test's schema and topic prefix; keyword overrides win."""

    def make(**overrides: Any) -> GatewaySettings:
        values: dict[str, Any] = {
            "postgres_dsn": postgres_dsn,
            "gateway_pg_schema": pg_schema.name,
            "kafka_bootstrap_servers": kafka_bootstrap,
            "topic_prefix": topic_prefix,
            "gateway_consumer_group": f"{topic_prefix}gateway",
            "kafka_enable_idempotence": False,
            "gateway_run_consumer": False,
            "gateway_run_delivery": False,
            "gateway_delivery_poll_s": FAST_POLL_S,
            "gateway_stream_poll_s": FAST_POLL_S,
            "gateway_rate_limit_per_s": 10_000.0,
            "gateway_rate_limit_burst": 10_000,
            "gateway_tenant_rate_limit_per_s": 10_000.0,
            "gateway_tenant_rate_limit_burst": 10_000,
            "gateway_operator_token": OPERATOR_TOKEN,
            "gateway_secrets_key": SECRETS_KEY,
            "log_json": False,
        }
        values.update(overrides)
        return GatewaySettings(_env_file=None, **values)

    return make


@pytest_asyncio.fixture
async def gateway(make_settings: Callable[..., GatewaySettings]) -> AsyncIterator[RunningGateway]:
    """The API with its lifespan running (no consumer, no delivery loop)."""
    async with running_gateway(make_settings()) as gw:
        yield gw
