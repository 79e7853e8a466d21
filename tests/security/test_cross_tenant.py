"""Cross-tenant reads: dead letters are operators' only, ids and decisions never cross tenants."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.gateway.repositories import tenants
from services.gateway.settings import GatewaySettings
from tests.integration.gateway.helpers import RunningGateway, auth, running_gateway
from tests.security.conftest import OPERATOR_TOKEN
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration

A1, B1 = "111111111111", "333333333333"
DLQ = "spendstream.anomalies.v1.dlq"


async def test_tenant_admin_keys_cannot_read_dead_letters(gateway: RunningGateway) -> None:
    await gateway.tenant("acme", [A1], scope="admin")
    admin = await gateway.key("acme", "admin")
    await gateway.store([f.dead_letter(1)], topic=DLQ)
    letter_id = (await gateway.get("/v1/dead-letters", OPERATOR_TOKEN)).json()["items"][0]["id"]
    for path in ("/v1/dead-letters", f"/v1/dead-letters/{letter_id}"):
        response = await gateway.get(path, admin)
        assert (path, response.status_code) == (path, 401)
        assert "raw" not in response.text
        assert "offset" not in response.text


async def test_operator_token_reads_dead_letters(gateway: RunningGateway) -> None:
    await gateway.store([f.dead_letter(7)], topic=DLQ)
    listed = await gateway.get("/v1/dead-letters", OPERATOR_TOKEN)
    assert [d["offset"] for d in listed.json()["items"]] == [7]
    one = await gateway.get(f"/v1/dead-letters/{listed.json()['items'][0]['id']}", OPERATOR_TOKEN)
    assert one.status_code == 200
    assert (await gateway.get("/v1/dead-letters", OPERATOR_TOKEN + "x")).status_code == 401


async def test_dead_letters_are_closed_without_an_operator_token(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    async with running_gateway(make_settings(gateway_operator_token=None)) as gw:
        await gw.tenant("acme", [A1], scope="admin")
        admin = await gw.key("acme", "admin")
        assert (await gw.get("/v1/dead-letters", admin)).status_code == 403


@pytest.mark.parametrize("token", ["changethis" * 4, "short"])
def test_placeholder_or_short_operator_tokens_are_refused(
    make_settings: Callable[..., GatewaySettings], token: str
) -> None:
    with pytest.raises(ValueError, match="OPERATOR_TOKEN"):
        make_settings(gateway_operator_token=token)


async def test_a_reused_incident_id_does_not_leak_across_tenants(gateway: RunningGateway) -> None:
    key_a = await gateway.tenant("acme", [A1])
    key_b = await gateway.tenant("globex", [B1])
    await gateway.store([f.anomaly("inc-a", account=A1)])
    # A hostile (or buggy) producer reuses acme's incident id for globex's account.
    await gateway.store([f.anomaly("inc-a", action="update", revision=1, account=B1, minute=5)])
    mine = await gateway.get("/v1/anomalies/inc-a", key_a)
    assert mine.status_code == 200
    assert mine.json()["account_id"] == A1
    assert [h["revision"] for h in mine.json()["history"]] == [0]
    assert B1 not in mine.text
    assert (await gateway.get("/v1/anomalies/inc-a", key_b)).status_code == 404
    listed = await gateway.get("/v1/anomalies", key_b)
    assert listed.json()["items"] == []


async def test_restatements_never_cross_tenants(gateway: RunningGateway) -> None:
    key_a = await gateway.tenant("acme", [A1])
    key_b = await gateway.tenant("globex", [B1])
    mine = [f.restatement(A1, day=d) for d in range(3)]
    theirs = f.restatement(B1, previous=900.0, new=100.0)  # a late credit on globex
    await gateway.store([*mine, theirs])
    # Paged one row at a time, acme walks its own three notices and nothing else.
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, object] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await gateway.get("/v1/restatements", key_a, **params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [r.id for r in reversed(mine)]  # newest first
    # Naming globex's series (or account) finds nothing; so does its alert kind.
    for params in ({"series_id": theirs.series_id}, {"account": B1}, {"min_delta": 500}):
        response = await gateway.get("/v1/restatements", key_a, **params)
        assert (params, response.status_code, response.json()["items"]) == (params, 200, [])
    alerts = (await gateway.get("/v1/alerts", key_a, source="restatement")).json()["items"]
    assert {a["alert_id"] for a in alerts} == {r.id for r in mine}
    theirs_listed = (await gateway.get("/v1/restatements", key_b)).json()["items"]
    assert [(r["id"], r["delta"]) for r in theirs_listed] == [(theirs.id, -800.0)]


async def test_recommendation_decisions_stay_with_their_tenant(gateway: RunningGateway) -> None:
    key_a = await gateway.tenant("acme", [A1])
    key_b = await gateway.tenant("globex", [B1])
    await gateway.store([f.recommendation("i-a", account=A1), f.recommendation("i-b", account=B1)])
    dismiss = {"state": "dismissed", "reason": "other"}
    # Another tenant's id answers 404 and changes nothing.
    foreign = await gateway.client.put(
        "/v1/recommendations/i-a/state", json={"state": "accepted"}, headers=auth(key_b)
    )
    assert foreign.status_code == 404
    assert (await gateway.get("/v1/recommendations/i-a", key_a)).json()["state"]["state"] == "open"
    mine = await gateway.client.put(
        "/v1/recommendations/i-a/state", json=dismiss, headers=auth(key_a)
    )
    assert mine.status_code == 200
    assert (await gateway.get("/v1/recommendations", key_b, state="dismissed")).json()[
        "items"
    ] == []
    # The account changes hands: its recommendation goes along, acme's decision does not.
    async with gateway.state.pool.acquire() as conn:
        await tenants.remove_accounts(conn, "acme", [A1])
        await tenants.add_accounts(conn, "globex", [A1])
    moved = await gateway.get("/v1/recommendations/i-a", key_b)
    assert moved.status_code == 200
    assert moved.json()["state"] == {
        "state": "open", "reason": None, "note": None, "snoozed_until": None,
        "updated_at": None, "lapsed_at": None, "lapse_reason": None,
    }  # fmt: skip
    assert (await gateway.get("/v1/recommendations", key_b, state="dismissed")).json()[
        "items"
    ] == []
    assert (await gateway.get("/v1/recommendations/i-a", key_a)).status_code == 404


async def test_commitments_never_cross_tenants(gateway: RunningGateway) -> None:
    """Reports, the one-account read and commitment alerts answer only the tenant's accounts."""
    key_a = await gateway.tenant("acme", [A1])
    key_b = await gateway.tenant("globex", [B1])
    await gateway.store(
        [
            f.commitment_report(A1, savings=100.0),
            f.commitment_report(B1, savings=900.0),
            f.commitment_alert(A1),
            f.commitment_alert(B1, reason="expiring"),
        ]
    )
    listed = (await gateway.get("/v1/commitments", key_a)).json()
    assert [r["account_id"] for r in listed["items"]] == [A1]
    assert listed["items"][0]["recommendations"][0]["hourly_commitment"] == 1.5
    assert (await gateway.get(f"/v1/commitments/{A1}", key_a)).status_code == 200
    # globex's account: 404 like an account with no report (no existence leak).
    assert (await gateway.get(f"/v1/commitments/{B1}", key_a)).status_code == 404
    assert (await gateway.get("/v1/commitments", key_a, account=B1)).json()["items"] == []
    mine = (await gateway.get("/v1/commitments/alerts", key_a)).json()["items"]
    assert [(a["account_id"], a["reason"]) for a in mine] == [(A1, "low_utilisation")]
    assert (await gateway.get("/v1/commitments/alerts", key_a, reason="expiring")).json()[
        "items"
    ] == []
    pushed = (await gateway.get("/v1/alerts", key_a, source="commitment")).json()["items"]
    assert [a["account_id"] for a in pushed] == [A1]
    theirs = (await gateway.get("/v1/commitments", key_b)).json()["items"]
    assert [r["best_monthly_savings"] for r in theirs] == [900.0]


async def test_realised_savings_never_cross_tenants(gateway: RunningGateway) -> None:
    """Implementations and their totals answer only the tenant's accounts."""
    key_a = await gateway.tenant("acme", [A1])
    key_b = await gateway.tenant("globex", [B1])
    await gateway.store(
        [
            f.implementation("i-a", A1, realised=60.0),
            f.implementation("i-b", B1, realised=None, minute=1),
            f.implementation("i-b2", B1, realised=500.0, minute=2),
        ]
    )
    mine = (await gateway.get("/v1/savings/realised", key_a)).json()["items"]
    assert [(r["resource_id"], r["realised_monthly_savings"]) for r in mine] == [("i-a", 60.0)]
    assert (await gateway.get("/v1/savings/realised", key_a, account=B1)).json()["items"] == []
    totals = (await gateway.get("/v1/savings/realised/totals", key_a)).json()
    assert (totals["implemented"], totals["measured"]) == (1, 1)
    assert totals["realised_monthly_savings"] == 60.0
    assert (await gateway.get("/v1/savings/realised/totals", key_a, account=B1)).json()[
        "implemented"
    ] == 0
    theirs = (await gateway.get("/v1/savings/realised/totals", key_b)).json()
    assert (theirs["implemented"], theirs["measured"]) == (2, 1)
    assert theirs["realised_monthly_savings"] == 500.0
    assert theirs["measured_estimated_monthly_savings"] == 70.0
