"""Webhook signing secrets (issue 12 #20): sealed at rest, rotatable, and binding the event id.

A database dump must not hand out secrets a forger could sign with; a
receiver must be able to switch secrets without rejecting alerts; and a
captured delivery must not verify under another event id.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from devstack.ports import free_port
from services.gateway.alerts.signing import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)
from services.gateway.secretbox import SecretBox, SecretKeyError
from services.gateway.settings import GatewaySettings
from tests.harness.wait import wait_for_async
from tests.integration.gateway.helpers import SECRETS_KEY, RunningGateway, auth, running_gateway
from tests.integration.gateway.receiver import Receiver
from tests.security.conftest import LOOPBACK_RECEIVERS
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration
A1 = "111111111111"


async def _subscribe(gw: RunningGateway, key: str, url: str) -> dict[str, str]:
    body = {"name": "hook", "channel": "webhook", "url": url}
    created = await gw.client.post("/v1/subscriptions", json=body, headers=auth(key))
    assert created.status_code == 201, created.text
    doc: dict[str, str] = created.json()
    return doc


async def _stored(gw: RunningGateway, sub_id: str) -> tuple[str, str | None]:
    async with gw.state.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT secret, previous_secret FROM subscriptions WHERE id = $1", sub_id
        )
    assert row is not None
    return row["secret"], row["previous_secret"]


async def test_secrets_are_sealed_at_rest_and_old_plaintext_is_sealed_on_start(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_settings()
    async with running_gateway(settings) as gw:
        key = await gw.tenant("acme", [A1])
        sub = await _subscribe(gw, key, "https://93.184.215.14/hook")
        stored, _ = await _stored(gw, sub["id"])
        assert sub["secret"] not in stored
        assert gw.state.secrets.open(stored) == sub["secret"]
        # A row written before encryption at rest existed.
        async with gw.state.pool.acquire() as conn:
            await conn.execute(
                "UPDATE subscriptions SET secret = 'legacy-plaintext' WHERE id = $1", sub["id"]
            )
    async with running_gateway(settings) as gw:
        stored, _ = await _stored(gw, sub["id"])
        assert "legacy-plaintext" not in stored
        assert gw.state.secrets.open(stored) == "legacy-plaintext"


@pytest.mark.parametrize(
    "key",
    ["changethis", "changethis" + "A" * 34, "A" * 43 + "=", "not-a-fernet-key-but-long-12345678"],
)
def test_placeholder_or_malformed_keys_are_refused(
    make_settings: Callable[..., GatewaySettings], key: str
) -> None:
    with pytest.raises(ValidationError, match="SECRETS_KEY"):
        make_settings(gateway_secrets_key=key)


async def test_the_gateway_does_not_start_without_a_key(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    with pytest.raises(SecretKeyError, match="SPENDSTREAM_GATEWAY_SECRETS_KEY"):
        async with running_gateway(make_settings(gateway_secrets_key=None)):
            pass


async def _deliver_one(gw: RunningGateway, receiver: Receiver, incident: str) -> None:
    before = len(receiver.requests)
    await gw.store([f.anomaly(incident)])
    await wait_for_async(lambda: len(receiver.requests) > before, description="alert delivered")


@pytest.mark.parametrize("overlap_s", [3600.0, 0.0])
async def test_rotation_signs_with_both_secrets_during_the_overlap(
    make_settings: Callable[..., GatewaySettings], overlap_s: float
) -> None:
    settings = make_settings(
        gateway_run_delivery=True, gateway_webhook_secret_overlap_s=overlap_s, **LOOPBACK_RECEIVERS
    )
    receiver = Receiver(free_port())
    await receiver.start()
    try:
        async with running_gateway(settings) as gw:
            key = await gw.tenant("acme", [A1])
            sub = await _subscribe(gw, key, f"http://127.0.0.1:{receiver.port}/hook")
            rotated = await gw.client.post(
                f"/v1/subscriptions/{sub['id']}/rotate-secret", headers=auth(key)
            )
            assert rotated.status_code == 200, rotated.text
            new = rotated.json()["secret"]
            assert new != sub["secret"]
            stored, previous = await _stored(gw, sub["id"])
            assert new not in stored
            assert previous is not None
            assert sub["secret"] not in previous
            reader = await gw.key("acme", "read")
            refused = await gw.client.post(
                f"/v1/subscriptions/{sub['id']}/rotate-secret", headers=auth(reader)
            )
            assert refused.status_code == 403
            await _deliver_one(gw, receiver, "inc-1")
    finally:
        await receiver.stop()
    request = receiver.requests[-1]
    header = request.headers[SIGNATURE_HEADER.lower()]
    timestamp = int(request.headers[TIMESTAMP_HEADER.lower()])
    event_id = request.headers[EVENT_ID_HEADER.lower()]
    now = int(time.time())
    assert verify(new, timestamp, event_id, request.body, header, now=now)
    old_still_valid = verify(sub["secret"], timestamp, event_id, request.body, header, now=now)
    assert old_still_valid is (overlap_s > 0), header
    assert header.count("v2=") == (2 if overlap_s > 0 else 1)
    # The signature binds the event id: the same body under another id does not verify.
    assert not verify(new, timestamp, event_id + "x", request.body, header, now=now)


async def test_the_sealing_key_rotates_old_rows_resealed_on_start(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    newer = Fernet.generate_key().decode()
    async with running_gateway(make_settings()) as gw:
        key = await gw.tenant("acme", [A1])
        sub = await _subscribe(gw, key, "https://93.184.215.14/hook")
    # New key first, old one still listed: start-up re-seals under the new one...
    async with running_gateway(make_settings(gateway_secrets_key=f"{newer},{SECRETS_KEY}")) as gw:
        stored, _ = await _stored(gw, sub["id"])
    assert SecretBox(newer).open(stored) == sub["secret"]
    # ...so the old key can then be dropped.
    async with running_gateway(make_settings(gateway_secrets_key=newer)) as gw:
        assert gw.state.secrets.open((await _stored(gw, sub["id"]))[0]) == sub["secret"]


async def test_a_secret_no_key_opens_fails_its_delivery_and_is_given_up(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    """Retried on every lease forever before; now a failed attempt with an error class."""
    receiver = Receiver(free_port())
    await receiver.start()
    try:
        async with running_gateway(make_settings(**LOOPBACK_RECEIVERS)) as gw:
            key = await gw.tenant("acme", [A1])
            sub = await _subscribe(gw, key, f"http://127.0.0.1:{receiver.port}/hook")
        other = make_settings(
            gateway_run_delivery=True,
            gateway_secrets_key=Fernet.generate_key().decode(),
            gateway_webhook_max_attempts=1,
            **LOOPBACK_RECEIVERS,
        )
        async with running_gateway(other) as gw:
            await gw.store([f.anomaly("inc-unreadable")])

            async def given_up() -> list[dict[str, object]] | None:
                page = await gw.client.get(
                    f"/v1/subscriptions/{sub['id']}/deliveries", headers=auth(key)
                )
                items = page.json()["items"]
                return items if items and items[0]["status"] == "failed" else None

            items = await wait_for_async(given_up, description="the delivery given up")
    finally:
        await receiver.stop()
    assert items[0]["last_error"] == "secret_unreadable"
    assert receiver.requests == []
