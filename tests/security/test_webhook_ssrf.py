"""Webhook SSRF: a tenant cannot aim the gateway at our own network.

Checked at save (every notation of an internal address is refused) and at send
(a stored URL whose name now resolves inward is not called), the request goes
to the address that was checked, redirects are not followed, and the delivery
log keeps the status code or an error class, never what the receiver said.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from devstack.ports import free_port
from services.gateway.alerts.model import from_anomaly
from services.gateway.delivery.channels import WebhookSender
from services.gateway.delivery.egress import EgressPolicy
from services.gateway.repositories import subscriptions, tenants
from services.gateway.settings import GatewaySettings
from tests.harness.wait import wait_for_async
from tests.integration.gateway.helpers import RunningGateway, auth, running_gateway
from tests.security.receivers import HostileReceiver
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration

A1 = "111111111111"
INTERNAL = [
    "https://127.0.0.1/hook",
    "https://127.1/hook",
    "https://2130706433/hook",  # decimal
    "https://0x7f000001/hook",  # hexadecimal
    "https://0177.0.0.1/hook",  # octal
    "https://0.0.0.0/hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
    "https://[::ffff:a9fe:a9fe]/hook",  # mapped metadata address
    "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of the metadata address
    "https://[2002:a00:1::]/hook",  # 6to4 of 10.0.0.1
    "https://10.0.0.1/hook",
    "https://172.16.5.4/hook",
    "https://192.168.1.1/hook",
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://100.64.0.1/hook",  # CGNAT
    "https://[fd00:ec2::254]/hook",  # ULA (EC2 IPv6 metadata)
    "https://[fe80::1]/hook",  # link-local
    "https://224.0.0.1/hook",  # multicast
    "https://localhost/hook",  # a name that resolves to loopback
    "https://localhost.:8443/hook",
    "https://kafka:9092/hook",  # an internal name
    "https://metadata.google.internal/computeMetadata/v1/",
]


def _hook(url: str) -> dict[str, object]:
    return {"name": "hook", "channel": "webhook", "url": url}


@pytest.mark.parametrize("url", INTERNAL)
async def test_internal_destinations_are_refused_at_save(gateway: RunningGateway, url: str) -> None:
    key = await gateway.tenant("acme", [A1])
    response = await gateway.client.post("/v1/subscriptions", json=_hook(url), headers=auth(key))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "url"]


async def test_updates_are_checked_too(gateway: RunningGateway) -> None:
    key = await gateway.tenant("acme", [A1])
    created = await gateway.client.post(
        "/v1/subscriptions", json=_hook("https://93.184.215.14/hook"), headers=auth(key)
    )
    assert created.status_code == 201, created.text
    moved = await gateway.client.put(
        f"/v1/subscriptions/{created.json()['id']}",
        json=_hook("https://169.254.169.254/"),
        headers=auth(key),
    )
    assert moved.status_code == 422


async def test_https_by_default_plain_http_only_by_operator_setting(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    for allow_http, expected in ((False, 422), (True, 201)):
        async with running_gateway(make_settings(gateway_webhook_allow_http=allow_http)) as gw:
            key = await gw.tenant(f"acme-{allow_http}", [f"11111111111{int(allow_http)}"])
            response = await gw.client.post(
                "/v1/subscriptions", json=_hook("http://93.184.215.14/hook"), headers=auth(key)
            )
            assert (allow_http, response.status_code) == (allow_http, expected)


async def _store_unchecked(gw: RunningGateway, url: str) -> tuple[str, str]:
    """A subscription written straight to the table, as if DNS changed after it was saved."""
    key = await gw.tenant("acme", [A1])
    async with gw.state.pool.acquire() as conn:
        tenant_id = await tenants.tenant_id_by_name(conn, "acme")
        fields = {
            "name": "hook",
            "channel": "webhook",
            "url": url,
            "body_format": "json",
            "sns_topic_arn": None,
            "accounts": [],
            "services": [],
            "min_severity": "low",
            "min_impact_usd": 0.0,
            "active": True,
        }
        sealed = gw.state.secrets.seal("s" * 43)
        await subscriptions.create(conn, tenant_id, "sub-1", sealed, fields)
    return key, "sub-1"


async def _first_attempt(gw: RunningGateway, key: str, sub_id: str) -> dict[str, object]:
    async def attempted() -> list[dict[str, object]]:
        items = (await gw.get(f"/v1/subscriptions/{sub_id}/deliveries", key)).json()["items"]
        return [i for i in items if i["attempts"]]

    [delivery] = await wait_for_async(attempted, description="a delivery attempt")
    return delivery


async def test_a_name_resolving_to_loopback_is_not_called_at_send(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    receiver = HostileReceiver(free_port())
    await receiver.start()
    try:
        settings = make_settings(gateway_run_delivery=True, gateway_webhook_allow_http=True)
        async with running_gateway(settings) as gw:
            key, sub_id = await _store_unchecked(gw, f"http://localhost:{receiver.port}/hook")
            await gw.store([f.anomaly("inc-1")])
            delivery = await _first_attempt(gw, key, sub_id)
    finally:
        await receiver.stop()
    assert (delivery["last_error"], delivery["last_status_code"]) == ("blocked_destination", None)
    assert receiver.requests == []


async def test_redirects_are_not_followed_and_bodies_not_stored(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    inner = HostileReceiver(free_port())
    outer = HostileReceiver(
        free_port(),
        status=307,
        location=f"http://127.0.0.1:{inner.port}/hook",
        body=b"internal-secret: db password is hunter2",
    )
    await inner.start()
    await outer.start()
    try:
        settings = make_settings(
            gateway_run_delivery=True,
            gateway_webhook_allow_http=True,
            gateway_webhook_allow_networks=("127.0.0.1/32",),
        )
        async with running_gateway(settings) as gw:
            key, sub_id = await _store_unchecked(gw, f"http://127.0.0.1:{outer.port}/hook")
            await gw.store([f.anomaly("inc-1")])
            delivery = await _first_attempt(gw, key, sub_id)
    finally:
        await outer.stop()
        await inner.stop()
    assert len(outer.requests) >= 1
    assert inner.requests == []
    assert (delivery["last_status_code"], delivery["last_error"]) == (307, "redirect_not_followed")
    assert "hunter2" not in str(delivery)


async def test_the_checked_address_is_the_one_connected_to() -> None:
    """The sender resolves once, checks, and connects to that answer (no second lookup)."""
    import httpx

    receiver = HostileReceiver(free_port())
    await receiver.start()
    lookups: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]  # the system resolver does not know this name at all

    try:
        async with httpx.AsyncClient(trust_env=False) as client:
            sender = WebhookSender(
                client, EgressPolicy.of(True, ["127.0.0.0/8"]), 5.0, resolver=resolver
            )
            outcome = await sender.send(
                f"http://receiver.invalid:{receiver.port}/hook",
                ["k"],
                from_anomaly(f.anomaly("inc-1")),
                1,
                "json",
            )
    finally:
        await receiver.stop()
    assert outcome.ok, outcome
    assert lookups == ["receiver.invalid"]
    assert receiver.requests[0].headers["host"] == f"receiver.invalid:{receiver.port}"
