"""Security test fixtures: the real gateway on the session's broker and database.

Same shape as the gateway integration fixtures, plus an operator token, so a
test can tell "an operator may" from "a tenant may not".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from services.gateway.settings import GatewaySettings
from tests.harness.isolation import PgSchema
from tests.integration.gateway.helpers import RunningGateway, running_gateway, settings_factory

pytestmark = pytest.mark.integration

# Test receivers listen on loopback over http: tests that deliver pass this allow-list.
LOOPBACK_RECEIVERS = {
    "gateway_webhook_allow_http": True,
    "gateway_webhook_allow_networks": ("127.0.0.0/8",),
}
OPERATOR_TOKEN = "op-" + "s3cr3t-operator-token-for-tests-only-" * 2


@pytest.fixture
def make_settings(
    postgres_dsn: str, kafka_bootstrap: str, pg_schema: PgSchema, topic_prefix: str
) -> Callable[..., GatewaySettings]:
    """Settings for this test's schema and topic prefix; keyword overrides win."""
    return settings_factory(
        postgres_dsn,
        kafka_bootstrap,
        pg_schema.name,
        topic_prefix,
        gateway_operator_token=OPERATOR_TOKEN,
    )


@pytest_asyncio.fixture
async def gateway(make_settings: Callable[..., GatewaySettings]) -> AsyncIterator[RunningGateway]:
    """The API with its lifespan running (no consumer, no delivery loop)."""
    async with running_gateway(make_settings()) as gw:
        yield gw
