"""Stored implementations only move forward: a replayed detection never hides a measured saving."""

from __future__ import annotations

import pytest

from tests.integration.gateway.helpers import RunningGateway
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration
A1 = "111111111111"


async def test_a_measured_implementation_survives_a_replayed_detection(
    gateway: RunningGateway,
) -> None:
    key = await gateway.tenant("acme", [A1])
    await gateway.store([f.implementation("i-a", A1, realised=60.0)])
    await gateway.store([f.implementation("i-a", A1, realised=None, minute=5)])  # replayed
    [row] = (await gateway.get("/v1/savings/realised", key)).json()["items"]
    assert row["realised_monthly_savings"] == 60.0
    # In one batch too (the batch collapse keeps the same row the upserts would).
    await gateway.store(
        [f.implementation("i-b", A1, realised=70.0), f.implementation("i-b", A1, realised=None)]
    )
    got = {
        r["resource_id"]: r
        for r in (await gateway.get("/v1/savings/realised", key)).json()["items"]
    }
    assert got["i-b"]["realised_monthly_savings"] == 70.0
