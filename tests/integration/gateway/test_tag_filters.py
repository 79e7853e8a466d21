"""``tag=key:value`` on /v1/costs and /v1/anomalies: tag series only, validated, tenant-scoped."""

from __future__ import annotations

import pytest

from shared.events.costs import tag_series_id
from tests.integration.gateway.helpers import RunningGateway
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration

A1, B1 = "111111111111", "333333333333"
ODD = "R&D / EU #1"  # legal in AWS tag values; must not break the id's structure


def _tag(account: str, value: str, key: str = "team") -> str:
    return tag_series_id("daily", account, key, value)


async def _seed(gw: RunningGateway) -> tuple[str, str]:
    key_a = await gw.tenant("acme", [A1], scope="read")
    key_b = await gw.tenant("globex", [B1], scope="read")
    await gw.store(
        [
            f.cost(A1),
            f.cost(A1, series=_tag(A1, "payments")),
            f.cost(A1, series=_tag(A1, "")),
            f.cost(A1, series=_tag(A1, ODD)),
            f.cost(A1, series=_tag(A1, "payments", key="env")),
            f.cost(B1, series=_tag(B1, "payments")),
            # A service named like a tag segment is not a tag series.
            f.cost(A1, series=f"daily/{A1}/Svc#team=payments"),
            f.anomaly("inc-a", account=A1),
            f.anomaly("inc-a-pay", account=A1, series=_tag(A1, "payments"), minute=1),
            f.anomaly("inc-a-untagged", account=A1, series=_tag(A1, ""), minute=2),
            f.anomaly("inc-b-pay", account=B1, series=_tag(B1, "payments")),
        ]
    )
    return key_a, key_b


async def _ids(gw: RunningGateway, path: str, key: str, tag: str, field: str) -> set[str]:
    response = await gw.get(path, key, tag=tag)
    assert response.status_code == 200, response.text
    return {item[field] for item in response.json()["items"]}


async def test_costs_filter_by_tag_value_and_untagged(gateway: RunningGateway) -> None:
    key_a, _ = await _seed(gateway)
    assert await _ids(gateway, "/v1/costs", key_a, "team:payments", "series_id") == {
        _tag(A1, "payments")
    }
    assert await _ids(gateway, "/v1/costs", key_a, "team:", "series_id") == {_tag(A1, "")}
    assert await _ids(gateway, "/v1/costs", key_a, f"team:{ODD}", "series_id") == {_tag(A1, ODD)}
    levels = (await gateway.get("/v1/costs", key_a, tag="team:payments")).json()["items"]
    assert [p["level"] for p in levels] == ["tag"]


async def test_anomalies_filter_by_tag(gateway: RunningGateway) -> None:
    key_a, _ = await _seed(gateway)
    assert await _ids(gateway, "/v1/anomalies", key_a, "team:payments", "incident_id") == {
        "inc-a-pay"
    }
    assert await _ids(gateway, "/v1/anomalies", key_a, "team:", "incident_id") == {"inc-a-untagged"}
    assert await _ids(gateway, "/v1/anomalies", key_a, "env:payments", "incident_id") == set()


async def test_tag_filters_stay_within_the_tenant(gateway: RunningGateway) -> None:
    key_a, key_b = await _seed(gateway)
    for path, field, mine_a, mine_b in (
        ("/v1/costs", "series_id", {_tag(A1, "payments")}, {_tag(B1, "payments")}),
        ("/v1/anomalies", "incident_id", {"inc-a-pay"}, {"inc-b-pay"}),
    ):
        assert await _ids(gateway, path, key_a, "team:payments", field) == mine_a
        assert await _ids(gateway, path, key_b, "team:payments", field) == mine_b


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("payments", "expected key:value"),
        (":payments", "expected key:value"),
        ("k" * 129 + ":v", "at most 128"),
        ("team:" + "v" * 257, "values 256"),
    ],
)
async def test_malformed_tag_filters_are_422_with_a_reason(
    gateway: RunningGateway, bad: str, reason: str
) -> None:
    key_a, _ = await _seed(gateway)
    for path in ("/v1/costs", "/v1/anomalies"):
        response = await gateway.get(path, key_a, tag=bad)
        assert response.status_code == 422, (path, bad, response.text)
        assert reason in response.text
