"""Tenant isolation on every endpoint: another tenant's objects are invisible (404)."""

from __future__ import annotations

import pytest

from tests.integration.gateway.helpers import RunningGateway, auth
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration

A1, A2, B1 = "111111111111", "222222222222", "333333333333"
WEBHOOK = {
    "name": "ops",
    "channel": "webhook",
    "url": "https://93.184.215.14/hook",
}  # a public address: no DNS needed


async def _seed(gw: RunningGateway) -> tuple[str, str]:
    key_a = await gw.tenant("acme", [A1, A2], scope="write")
    key_b = await gw.tenant("globex", [B1], scope="write")
    await gw.store(
        [
            f.anomaly("inc-a", account=A1),
            f.anomaly("inc-a2", account=A2, minute=1),
            f.anomaly("inc-b", account=B1),
            f.recommendation("i-a", account=A1),
            f.recommendation("i-b", account=B1),
            f.forecast(f"daily/{A1}", account=A1),
            f.forecast(f"daily/{B1}", account=B1),
            f.cost(A1),
            f.cost(B1),
            f.budget_alert("ba-a", account=A1),
            f.budget_alert("ba-b", account=B1),
            f.restatement(A1),
            f.restatement(B1),
            f.commitment_report(A1),
            f.commitment_report(B1),
            f.commitment_alert(A1),
            f.commitment_alert(B1),
            f.implementation("i-a", A1),
            f.implementation("i-b", B1),
        ]
    )
    return key_a, key_b


async def test_lists_show_only_own_accounts(gateway: RunningGateway) -> None:
    key_a, key_b = await _seed(gateway)
    expectations = {
        "/v1/anomalies": ("incident_id", {"inc-a", "inc-a2"}, {"inc-b"}),
        "/v1/recommendations": ("resource_id", {"i-a"}, {"i-b"}),
        "/v1/forecasts": ("series_id", {f"daily/{A1}"}, {f"daily/{B1}"}),
        "/v1/costs": ("series_id", {f"daily/{A1}"}, {f"daily/{B1}"}),
        "/v1/alerts": (
            "alert_id",
            {"inc-a", "inc-a2", "ba-a", f.restatement(A1).id, f.commitment_alert(A1).id},
            {"inc-b", "ba-b", f.restatement(B1).id, f.commitment_alert(B1).id},
        ),
        "/v1/restatements": ("account_id", {A1}, {B1}),
        "/v1/commitments": ("account_id", {A1}, {B1}),
        "/v1/commitments/alerts": ("account_id", {A1}, {B1}),
        "/v1/savings/realised": ("resource_id", {"i-a"}, {"i-b"}),
    }
    for path, (field, mine_a, mine_b) in expectations.items():
        got_a = {i[field] for i in (await gateway.get(path, key_a)).json()["items"]}
        got_b = {i[field] for i in (await gateway.get(path, key_b)).json()["items"]}
        assert (path, got_a, got_b) == (path, mine_a, mine_b)


async def test_summaries_count_only_own_accounts(gateway: RunningGateway) -> None:
    key_a, key_b = await _seed(gateway)
    since = {"since": "2025-01-01T00:00:00Z"}
    start = {"start": "2025-02-01T00:00:00Z", "group_by": "account"}
    for key, mine in ((key_a, A1), (key_b, B1)):
        breakdown = (await gateway.get("/v1/costs/breakdown", key, **start)).json()
        assert [g["key"] for g in breakdown["groups"]] == [mine]
        changes = (await gateway.get("/v1/changes", key, **since)).json()
        assert [c["account_id"] for c in changes["costs"]] == [mine]
        assert changes["recommendations"]["changed"] == 1
        assert {a["account_id"] for a in changes["anomalies"]["top_opened"]} <= {mine, A2}


async def test_filtering_on_a_foreign_account_returns_nothing(gateway: RunningGateway) -> None:
    key_a, _ = await _seed(gateway)
    for path in (
        "/v1/anomalies",
        "/v1/recommendations",
        "/v1/forecasts",
        "/v1/costs",
        "/v1/restatements",
        "/v1/commitments",
        "/v1/commitments/alerts",
        "/v1/savings/realised",
    ):
        response = await gateway.get(path, key_a, account=B1)
        assert (path, response.status_code, response.json()["items"]) == (path, 200, [])


async def test_foreign_objects_answer_404(gateway: RunningGateway) -> None:
    key_a, key_b = await _seed(gateway)
    budget = await gateway.client.post(
        "/v1/budgets",
        json={"name": "ec2", "scope": "account", "account_id": A1, "amount_usd": 500},
        headers=auth(key_a),
    )
    sub = await gateway.client.post("/v1/subscriptions", json=WEBHOOK, headers=auth(key_a))
    assert (budget.status_code, sub.status_code) == (201, 201)
    budget_id, sub_id = budget.json()["id"], sub.json()["id"]
    reads = [
        "/v1/anomalies/inc-a",
        "/v1/anomalies/inc-a/series",
        "/v1/recommendations/i-a",
        f"/v1/forecasts/daily/{A1}",
        f"/v1/commitments/{A1}",
        f"/v1/budgets/{budget_id}",
        f"/v1/subscriptions/{sub_id}",
        f"/v1/subscriptions/{sub_id}/deliveries",
    ]
    for path in reads:
        assert (path, (await gateway.get(path, key_a)).status_code) == (path, 200)
        assert (path, (await gateway.get(path, key_b)).status_code) == (path, 404)
    c = gateway.client
    writes = [
        await c.post(
            "/v1/anomalies/inc-a/feedback", json={"verdict": "expected"}, headers=auth(key_b)
        ),
        await c.put(
            f"/v1/budgets/{budget_id}",
            json={"name": "x", "scope": "tenant", "amount_usd": 1},
            headers=auth(key_b),
        ),
        await c.delete(f"/v1/budgets/{budget_id}", headers=auth(key_b)),
        await c.put(f"/v1/subscriptions/{sub_id}", json=WEBHOOK, headers=auth(key_b)),
        await c.delete(f"/v1/subscriptions/{sub_id}", headers=auth(key_b)),
        await c.put(
            "/v1/recommendations/i-a/state", json={"state": "accepted"}, headers=auth(key_b)
        ),
    ]
    assert [w.status_code for w in writes] == [404] * len(writes)
    # Nothing of A's changed.
    assert (await gateway.get(f"/v1/budgets/{budget_id}", key_a)).json()["name"] == "ec2"
    assert (await gateway.get(f"/v1/subscriptions/{sub_id}", key_a)).status_code == 200


async def test_cannot_point_budgets_or_subscriptions_at_foreign_accounts(
    gateway: RunningGateway,
) -> None:
    key_a, _ = await _seed(gateway)
    budget = await gateway.client.post(
        "/v1/budgets",
        json={"name": "x", "scope": "account", "account_id": B1, "amount_usd": 5},
        headers=auth(key_a),
    )
    sub = await gateway.client.post(
        "/v1/subscriptions", json={**WEBHOOK, "accounts": [B1]}, headers=auth(key_a)
    )
    assert (budget.status_code, sub.status_code) == (422, 422)
    assert B1 in budget.json()["detail"][0]["msg"]


async def test_feedback_and_budgets_are_published(gateway: RunningGateway) -> None:
    key_a, _ = await _seed(gateway)
    fb = await gateway.client.post(
        "/v1/anomalies/inc-a/feedback",
        json={"verdict": "false_positive", "note": "load test"},
        headers=auth(key_a),
    )
    assert fb.status_code == 202, fb.text
    created = await gateway.client.post(
        "/v1/budgets", json={"name": "all", "scope": "tenant", "amount_usd": 9}, headers=auth(key_a)
    )
    deleted = await gateway.client.delete(
        f"/v1/budgets/{created.json()['id']}", headers=auth(key_a)
    )
    assert (created.status_code, deleted.status_code) == (201, 204)


async def test_scopes_and_operator_only_dead_letters(gateway: RunningGateway) -> None:
    key_a, _ = await _seed(gateway)
    await gateway.store([f.dead_letter(1)], topic="spendstream.anomalies.v1.dlq")
    read_key = await gateway.key("acme", "read")
    admin_key = await gateway.key("acme", "admin")
    # Dead letters need the operator token (tests/security); no tenant key of any scope reads them.
    assert (await gateway.get("/v1/dead-letters", key_a)).status_code == 403
    assert (await gateway.get("/v1/dead-letters", admin_key)).status_code == 403
    denied = await gateway.client.post(
        "/v1/budgets",
        json={"name": "x", "scope": "tenant", "amount_usd": 1},
        headers=auth(read_key),
    )
    assert denied.status_code == 403
    assert "scope" in denied.json()["detail"]


async def test_bad_keys_are_401_and_never_echoed(gateway: RunningGateway) -> None:
    await _seed(gateway)
    secret = "ssk_0123456789abcdef_" + "x" * 43
    for headers in ({}, {"Authorization": "Bearer nope"}, {"X-API-Key": secret}):
        response = await gateway.client.get("/v1/anomalies", headers=headers)
        assert response.status_code == 401
        assert secret not in response.text
