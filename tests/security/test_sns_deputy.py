"""SNS confused deputy: the gateway publishes with its own credentials, so only to the
tenant's own accounts' topics (or operator-listed ones), and AWS's words stay with us."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from devstack.ports import free_port
from services.gateway.repositories import subscriptions, tenants
from services.gateway.settings import GatewaySettings
from tests.harness.wait import wait_for_async
from tests.integration.gateway.helpers import RunningGateway, auth, running_gateway
from tests.integration.gateway.test_sns import MOTO_ACCOUNT, REGION, moto_url
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration
__all__ = ["moto_url"]  # the fixture, used by name

OWN, FOREIGN = "111111111111", "999999999999"


def _sns(arn: str) -> dict[str, object]:
    return {"name": "sns", "channel": "sns", "sns_topic_arn": arn}


async def test_only_own_account_topics_are_accepted(gateway: RunningGateway) -> None:
    key = await gateway.tenant("acme", [OWN])
    own = await gateway.client.post(
        "/v1/subscriptions", json=_sns(f"arn:aws:sns:us-east-1:{OWN}:alerts"), headers=auth(key)
    )
    foreign = await gateway.client.post(
        "/v1/subscriptions", json=_sns(f"arn:aws:sns:us-east-1:{FOREIGN}:x"), headers=auth(key)
    )
    assert (own.status_code, foreign.status_code) == (201, 422)
    moved = await gateway.client.put(
        f"/v1/subscriptions/{own.json()['id']}",
        json=_sns(f"arn:aws:sns:us-east-1:{FOREIGN}:x"),
        headers=auth(key),
    )
    assert moved.status_code == 422


async def test_operator_allow_list_admits_a_shared_topic(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    shared = f"arn:aws:sns:us-east-1:{FOREIGN}:shared-alerts"
    async with running_gateway(make_settings(gateway_sns_allow_topic_arns=(shared,))) as gw:
        key = await gw.tenant("acme", [OWN])
        response = await gw.client.post("/v1/subscriptions", json=_sns(shared), headers=auth(key))
        assert response.status_code == 201, response.text


async def _deliveries(gw: RunningGateway, key: str, arn: str) -> dict[str, object]:
    async with gw.state.pool.acquire() as conn:
        tenant_id = await tenants.tenant_id_by_name(conn, "acme")
        fields = {
            "name": "sns",
            "channel": "sns",
            "url": None,
            "body_format": "json",
            "sns_topic_arn": arn,
            "accounts": [],
            "services": [],
            "min_severity": "low",
            "min_impact_usd": 0.0,
            "active": True,
        }
        sealed = gw.state.secrets.seal("s" * 43)
        await subscriptions.create(conn, tenant_id, "sub-1", sealed, fields)

    async def attempted() -> list[dict[str, object]]:
        items = (await gw.get("/v1/subscriptions/sub-1/deliveries", key)).json()["items"]
        return [i for i in items if i["attempts"]]

    [delivery] = await wait_for_async(attempted, description="an SNS delivery attempt")
    return delivery


async def test_a_stored_foreign_topic_is_not_published_to(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    # Nothing listens there: a publish attempt would fail with a connection error instead.
    settings = make_settings(
        gateway_run_delivery=True,
        gateway_sns_endpoint_url=f"http://127.0.0.1:{free_port()}",
        gateway_aws_region=REGION,
    )
    async with running_gateway(settings) as gw:
        key = await gw.tenant("acme", [OWN])
        await gw.store([f.anomaly("inc-1", account=OWN)])
        delivery = await _deliveries(gw, key, f"arn:aws:sns:us-east-1:{FOREIGN}:theirs")
    assert delivery["last_error"] == "blocked_destination"


async def test_aws_error_text_is_not_shown_to_the_tenant(
    make_settings: Callable[..., GatewaySettings], moto_url: str
) -> None:
    settings = make_settings(
        gateway_run_delivery=True, gateway_sns_endpoint_url=moto_url, gateway_aws_region=REGION
    )
    async with running_gateway(settings) as gw:
        key = await gw.tenant("acme", [MOTO_ACCOUNT])
        await gw.store([f.anomaly("inc-1", account=MOTO_ACCOUNT)])
        delivery = await _deliveries(gw, key, f"arn:aws:sns:{REGION}:{MOTO_ACCOUNT}:missing")
    error = str(delivery["last_error"])
    assert error.isidentifier(), error  # a class name, not AWS's sentence
    assert "exist" not in error.lower()
