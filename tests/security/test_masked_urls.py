"""Webhook URLs are secrets (Slack URLs, credentials in URLs): read keys see them masked."""

from __future__ import annotations

import pytest

from tests.integration.gateway.helpers import RunningGateway, auth

pytestmark = pytest.mark.integration
SECRET_URL = "https://bot:pa55word@93.184.215.14/services/T00/B00/XXXXSECRET?token=abc"


async def test_read_keys_see_masked_urls(gateway: RunningGateway) -> None:
    writer = await gateway.tenant("acme", ["111111111111"])
    reader = await gateway.key("acme", "read")
    hook = {"name": "slack", "channel": "webhook", "url": SECRET_URL}
    created = await gateway.client.post("/v1/subscriptions", json=hook, headers=auth(writer))
    assert created.status_code == 201, created.text
    sub_id = created.json()["id"]
    for path in ("/v1/subscriptions", f"/v1/subscriptions/{sub_id}"):
        shown = await gateway.get(path, reader)
        assert shown.status_code == 200
        for secret in ("pa55word", "XXXXSECRET", "token=abc", "bot:"):
            assert secret not in shown.text, (path, secret)
        assert "https://93.184.215.14/***" in shown.text
    whole = await gateway.get(f"/v1/subscriptions/{sub_id}", writer)
    assert "XXXXSECRET" in whole.json()["url"]
