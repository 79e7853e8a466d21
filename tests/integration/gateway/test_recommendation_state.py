"""Accept / dismiss / snooze: stored per tenant, served with the recommendation, kept or
lapsed by re-publications arriving through the real consumer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.gateway.settings import GatewaySettings
from shared import topics
from shared.events import Recommendation, stable_id
from tests.harness.wait import wait_for_async
from tests.integration.gateway.helpers import (
    RunningGateway,
    auth,
    publish,
    records_consumed,
    running_gateway,
)
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration

A1 = "111111111111"
LATER = (datetime.now(UTC) + timedelta(days=7)).isoformat()


async def _put(gw: RunningGateway, key: str, resource: str, body: dict[str, Any]) -> Any:
    return await gw.client.put(
        f"/v1/recommendations/{resource}/state", json=body, headers=auth(key)
    )


async def _state(gw: RunningGateway, key: str, resource: str) -> dict[str, Any]:
    response = await gw.get(f"/v1/recommendations/{resource}", key)
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()["state"]
    return state


async def test_a_decision_is_stored_served_and_filtered(gateway: RunningGateway) -> None:
    key = await gateway.tenant("acme", [A1])
    await gateway.store([f.recommendation(f"i-{n}", savings=10.0 * n) for n in range(1, 5)])
    assert (await _state(gateway, key, "i-1"))["state"] == "open"

    accepted = await _put(gateway, key, "i-1", {"state": "accepted", "note": "next window"})
    dismissed = await _put(gateway, key, "i-2", {"state": "dismissed", "reason": "other"})
    snoozed = await _put(gateway, key, "i-3", {"state": "snoozed", "snoozed_until": LATER})
    assert [r.status_code for r in (accepted, dismissed, snoozed)] == [200, 200, 200]
    assert accepted.json()["note"] == "next window"
    assert dismissed.json()["reason"] == "other"

    detail = await _state(gateway, key, "i-3")
    assert detail["state"] == "snoozed"
    assert datetime.fromisoformat(detail["snoozed_until"]) == datetime.fromisoformat(LATER)

    async def by_state(state: str) -> list[str]:
        listed = await gateway.get("/v1/recommendations", key, state=state)
        assert listed.status_code == 200
        return [r["resource_id"] for r in listed.json()["items"]]

    assert await by_state("accepted") == ["i-1"]
    assert await by_state("dismissed") == ["i-2"]
    assert await by_state("snoozed") == ["i-3"]
    assert await by_state("open") == ["i-4"]
    everything = (await gateway.get("/v1/recommendations", key)).json()["items"]
    assert {r["resource_id"]: r["state"]["state"] for r in everything} == {
        "i-4": "open", "i-3": "snoozed", "i-2": "dismissed", "i-1": "accepted"
    }  # fmt: skip

    reopened = await _put(gateway, key, "i-2", {"state": "open"})
    assert reopened.json()["state"] == "open"
    assert reopened.json()["reason"] is None
    assert sorted(await by_state("open")) == ["i-2", "i-4"]


async def test_a_snooze_reads_open_once_its_time_has_passed(gateway: RunningGateway) -> None:
    key = await gateway.tenant("acme", [A1])
    await gateway.store([f.recommendation("i-1")])
    assert (
        await _put(gateway, key, "i-1", {"state": "snoozed", "snoozed_until": LATER})
    ).is_success
    # The clock moving past the snooze, without waiting a week: the stored time moves back.
    async with gateway.state.pool.acquire() as conn:
        await conn.execute("UPDATE recommendation_states SET snoozed_until = now() - interval '1s'")
    state = await _state(gateway, key, "i-1")
    assert state["state"] == "open"
    listed = await gateway.get("/v1/recommendations", key, state="open")
    assert [r["resource_id"] for r in listed.json()["items"]] == ["i-1"]
    assert (await gateway.get("/v1/recommendations", key, state="snoozed")).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"state": "dismissed"}, "state 'dismissed' needs a reason"),
        ({"state": "dismissed", "reason": "because"}, "Input should be"),
        ({"state": "accepted", "reason": "other"}, "takes no reason"),
        ({"state": "snoozed"}, "needs snoozed_until"),
        ({"state": "snoozed", "snoozed_until": "2020-01-01T00:00:00Z"}, "must be in the future"),
        ({"state": "snoozed", "snoozed_until": "2999-01-01T00:00:00Z"}, "at most 366 days"),
        ({"state": "snoozed", "snoozed_until": 1893456000}, "RFC 3339 date-time string"),
        ({"state": "snoozed", "snoozed_until": "next week"}, "RFC 3339"),
        ({"state": "open", "snoozed_until": LATER}, "takes no snoozed_until"),
        ({"state": "accepted", "note": "x" * 2001}, "at most 2000 characters"),
        ({"state": "accepted", "note": "a\x00b"}, "NUL"),
        ({"state": "gone"}, "Input should be"),
        ({"state": "accepted", "extra": 1}, "Extra inputs are not permitted"),
    ],
)
async def test_bad_decisions_are_422_with_a_clear_message(
    gateway: RunningGateway, body: dict[str, Any], message: str
) -> None:
    key = await gateway.tenant("acme", [A1])
    await gateway.store([f.recommendation("i-1")])
    response = await _put(gateway, key, "i-1", body)
    assert response.status_code == 422
    assert message in response.text
    assert (await _state(gateway, key, "i-1"))["state"] == "open"


async def test_unknown_recommendation_is_404_and_read_keys_cannot_decide(
    gateway: RunningGateway,
) -> None:
    key = await gateway.tenant("acme", [A1])
    reader = await gateway.key("acme", "read")
    await gateway.store([f.recommendation("i-1")])
    assert (await _put(gateway, key, "i-404", {"state": "accepted"})).status_code == 404
    assert (await _put(gateway, reader, "i-1", {"state": "accepted"})).status_code == 403
    assert (await _state(gateway, key, "i-1"))["state"] == "open"


def _republished(rec: Recommendation, minute: int, **changes: Any) -> Recommendation:
    """The same instance's recommendation from a later evaluation, with ``changes``."""
    at = rec.generated_at + timedelta(minutes=minute)
    return rec.model_copy(
        update={
            "id": stable_id("rec", rec.resource_id, at.isoformat()),
            "generated_at": at,
            **changes,
        }
    )


def _with_savings(rec: Recommendation, savings: float) -> dict[str, Any]:
    option = rec.options[0].model_copy(update={"monthly_savings": savings})
    return {"estimated_monthly_savings": savings, "options": [option]}


async def test_republications_through_the_consumer_keep_or_lapse_decisions(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_settings(gateway_run_consumer=True)
    first = {r: f.recommendation(r, savings=100.0) for r in ("same", "grew", "idle", "small", "sn")}
    topic = topics.RECOMMENDATIONS.name
    async with running_gateway(settings) as gw:
        key = await gw.tenant("acme", [A1])
        await publish(settings, [(topic, r, r.resource_id) for r in first.values()])
        await wait_for_async(lambda: records_consumed(gw) >= 5, timeout=60, description="stored")
        decisions = {
            "same": {"state": "dismissed", "reason": "workload_will_grow"},
            "grew": {"state": "dismissed", "reason": "performance_risk"},
            "idle": {"state": "accepted"},
            "small": {"state": "accepted"},
            "sn": {"state": "snoozed", "snoozed_until": LATER},
        }
        for resource, body in decisions.items():
            assert (await _put(gw, key, resource, body)).status_code == 200
        again = [
            # Materially the same: +20% savings is within the 25% the rule allows.
            _republished(first["same"], 10, **_with_savings(first["same"], 120.0)),
            # A dismissal lapses when savings grow by more than 25%.
            _republished(first["grew"], 10, **_with_savings(first["grew"], 140.0)),
            # An acceptance lapses when the finding changes.
            _republished(first["idle"], 10, finding="idle", options=[]),
            # Smaller savings never revive a decision.
            _republished(first["small"], 10, **_with_savings(first["small"], 30.0)),
            # A snooze ignores content; only its time ends it.
            _republished(first["sn"], 10, finding="idle", options=[]),
        ]
        await publish(settings, [(topic, r, r.resource_id) for r in again])
        await wait_for_async(lambda: records_consumed(gw) >= 10, timeout=60, description="again")
        states = {r: await _state(gw, key, r) for r in first}
    assert {r: s["state"] for r, s in states.items()} == {
        "same": "dismissed", "grew": "open", "idle": "open", "small": "accepted", "sn": "snoozed"
    }  # fmt: skip
    assert states["grew"]["lapse_reason"] == (
        "was dismissed; monthly savings grew from $100.00 to $140.00 (+40%)"
    )
    assert (
        states["idle"]["lapse_reason"]
        == "was accepted; finding changed from overprovisioned to idle"
    )
    assert states["grew"]["lapsed_at"] is not None
    assert states["same"]["reason"] == "workload_will_grow"
    assert states["same"]["lapse_reason"] is None
