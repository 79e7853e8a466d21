"""Strangers learn nothing from the operational endpoints (issue 12 #18).

``/metrics`` (route names, volumes, tenants' activity), ``/openapi.json`` and
the docs viewers need the operator token unless an operator opens the docs;
``/readyz`` answers ready / not ready and never names an exception class.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.gateway.settings import GatewaySettings
from tests.integration.gateway.helpers import RunningGateway, auth, running_gateway
from tests.security.conftest import OPERATOR_TOKEN

pytestmark = pytest.mark.integration
A1 = "111111111111"


async def test_metrics_and_openapi_need_the_operator_token(gateway: RunningGateway) -> None:
    tenant_key = await gateway.tenant("acme", [A1], scope="admin")
    for path in ("/metrics", "/openapi.json"):
        anonymous = await gateway.client.get(path)
        assert anonymous.status_code == 401, (path, anonymous.text)
        as_tenant = await gateway.client.get(path, headers=auth(tenant_key))
        assert as_tenant.status_code == 401, (path, as_tenant.text)
        as_operator = await gateway.client.get(path, headers=auth(OPERATOR_TOKEN))
        assert as_operator.status_code == 200, (path, as_operator.text)
    metrics = await gateway.client.get("/metrics", headers=auth(OPERATOR_TOKEN))
    assert "spendstream_gateway_http_request_seconds" in metrics.text
    for viewer in ("/docs", "/redoc"):
        closed = await gateway.client.get(viewer, headers=auth(OPERATOR_TOKEN))
        assert closed.status_code == 404, viewer


async def test_docs_open_only_by_setting(make_settings: Callable[..., GatewaySettings]) -> None:
    async with running_gateway(make_settings(gateway_docs_public=True)) as gw:
        for path in ("/openapi.json", "/docs", "/redoc"):
            response = await gw.client.get(path)
            assert response.status_code == 200, path
        assert "/v1/anomalies" in (await gw.client.get("/openapi.json")).json()["paths"]
        assert (await gw.client.get("/metrics")).status_code == 401


async def test_readiness_says_only_ready_or_not(gateway: RunningGateway) -> None:
    ready = await gateway.client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    await gateway.state.pool.close()  # the database is now unreachable for this process
    down = await gateway.client.get("/readyz")
    assert (down.status_code, down.json()) == (503, {"status": "not ready"})
    assert "Error" not in down.text
