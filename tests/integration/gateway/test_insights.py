"""Dashboard summaries: costs by group, changes since, anomaly series, model choice, budgets."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.gateway.repositories.regions import usage_type_region
from shared.events import CostPoint, stable_id
from shared.events.costs import series_id
from shared.events.forecasts import HistoryIncident
from tests.integration.gateway.helpers import RunningGateway, auth
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration

A1, A2, B1 = "111111111111", "222222222222", "333333333333"
START = f.T0.isoformat()


def service_cost(account: str, service: str, day: int, value: float) -> CostPoint:
    base = f.cost(account, day, value)
    sid = series_id("service", "daily", account, service)
    return base.model_copy(
        update={
            "id": stable_id("cost", sid, day, value),
            "series_id": sid,
            "level": "service",
            "service": service,
        }
    )


async def _seed_costs(gw: RunningGateway) -> str:
    key = await gw.tenant("acme", [A1, A2])
    await gw.tenant("globex", [B1])
    events = []
    for day in range(3):
        events += [
            service_cost(A1, "AmazonEC2", day, 100.0),
            service_cost(A2, "AmazonEC2", day, 50.0),
            service_cost(A1, "AmazonS3", day, 10.0),
            service_cost(A1, "AWSLambda", day, 1.0),
            service_cost(B1, "AmazonEC2", day, 1000.0),  # another tenant's
            f.cost(A1, day, 111.0 + day),
            f.cost(A2, day, 50.0),
        ]
    await gw.store(events)
    return key


async def test_breakdown_ranks_groups_sums_the_rest_and_totals(gateway: RunningGateway) -> None:
    key = await _seed_costs(gateway)
    got = await gateway.get("/v1/costs/breakdown", key, group_by="service", top=2, start=START)
    assert got.status_code == 200, got.text
    body = got.json()
    assert [(g["key"], g["other"], g["total"]) for g in body["groups"]] == [
        ("AmazonEC2", False, 450.0), ("AmazonS3", False, 30.0), (None, True, 3.0)
    ]  # fmt: skip
    assert [len(g["points"]) for g in body["groups"]] == [3, 3, 3]
    assert [p["cost"] for p in body["period_totals"]] == [161.0, 161.0, 161.0]
    assert body["totals"] == [{"currency": "USD", "cost": 483.0}]
    # The default range ends just after the newest day the tenant has.
    default = (await gateway.get("/v1/costs/breakdown", key, group_by="account")).json()
    assert [(g["key"], g["total"]) for g in default["groups"]] == [(A1, 336.0), (A2, 150.0)]
    one = await gateway.get("/v1/costs/breakdown", key, group_by="service", account=A2)
    assert [(g["key"], g["total"]) for g in one.json()["groups"]] == [("AmazonEC2", 150.0)]


def usage_cost(account: str, service: str, usage_type: str, day: int, value: float) -> CostPoint:
    base = f.cost(account, day, value)
    sid = series_id("usage_type", "daily", account, service, usage_type)
    return base.model_copy(
        update={
            "id": stable_id("cost", sid, day, value),
            "series_id": sid,
            "level": "usage_type",
            "service": service,
            "usage_type": usage_type,
        }
    )


async def test_breakdown_by_region_reads_the_usage_types_region_code(
    gateway: RunningGateway,
) -> None:
    key = await gateway.tenant("acme", [A1, A2])
    await gateway.tenant("globex", [B1])
    leaves = [
        (A1, "AmazonEC2", "BoxUsage:m5.large", 100.0),  # us-east-1 writes no code
        (A1, "AmazonEC2", "USW2-BoxUsage:m5.large", 40.0),
        (A2, "AmazonEC2", "EU-EBS:VolumeUsage.gp3", 7.0),
        (A2, "awskms", "eu-west-1-KMS-Requests", 3.0),
        (A1, "AmazonCloudFront", "EU-DataTransfer-Out-Bytes", 2.0),  # an edge area
        (A1, "AmazonEC2", "-", 1.0),  # no usage type (tax)
        (B1, "AmazonEC2", "USW2-BoxUsage:m5.large", 1000.0),  # another tenant's
    ]
    await gateway.store(
        [usage_cost(a, s, u, day, v) for day in range(3) for a, s, u, v in leaves]
        + [service_cost(A1, "AmazonEC2", day, 500.0) for day in range(3)]  # not a leaf
    )
    end = (f.T0 + timedelta(days=3)).isoformat()
    got = await gateway.get("/v1/costs/breakdown", key, group_by="region", start=START, end=end)
    assert got.status_code == 200, got.text
    body = got.json()
    want: dict[str, float] = {}
    for _, service, usage_type, value in leaves[:-1]:
        region = usage_type_region(service, usage_type)
        want[region] = want.get(region, 0.0) + 3 * value
    assert {g["key"]: g["total"] for g in body["groups"]} == pytest.approx(want)
    assert [g["key"] for g in body["groups"]] == ["us-east-1", "us-west-2", "eu-west-1", "global"]
    assert [p["cost"] for p in body["period_totals"]] == pytest.approx([153.0] * 3)
    one = await gateway.get(
        "/v1/costs/breakdown", key, group_by="region", account=A2, start=START, end=end, top=1
    )
    assert [(g["key"], g["total"]) for g in one.json()["groups"]] == [("eu-west-1", 30.0)]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": START, "end": START}, "start must be before end"),
        ({"start": START, "end": (f.T0 + timedelta(days=401)).isoformat()}, "at most 400 days"),
        ({"granularity": "hourly", "start": START, "end": (f.T0 + timedelta(days=32)).isoformat()},
         "at most 31 days"),
        ({"group_by": "colour"}, "Input should be"),
        ({"end": "0001-01-02T00:00:00Z"}, "give start"),
        ({"top": 0}, "greater than or equal to 1"),
    ],
)  # fmt: skip
async def test_bad_breakdown_requests_are_422(
    gateway: RunningGateway, params: dict[str, object], message: str
) -> None:
    key = await gateway.tenant("acme", [A1])
    response = await gateway.get("/v1/costs/breakdown", key, **params)
    assert response.status_code == 422
    assert message in response.text


async def test_changes_since_count_only_the_tenants_news(gateway: RunningGateway) -> None:
    key = await _seed_costs(gateway)
    await gateway.store(
        [
            f.anomaly("inc-old", minute=-60 * 24 * 3, impact=10.0),
            f.anomaly("inc-new", minute=10, impact=300.0),
            f.anomaly("inc-small", minute=20, impact=5.0),
            f.anomaly("inc-fixed", minute=-60 * 24 * 3),
            f.anomaly("inc-fixed", action="resolve", revision=0, minute=30),
            f.anomaly("inc-b", account=B1, minute=10),
            f.recommendation("i-1", savings=20.0, minute=5),
            f.recommendation("i-2", savings=30.0, regression=True, minute=6),
            f.recommendation("i-old", savings=99.0, minute=-60 * 24 * 3),
            f.recommendation("i-b", account=B1, savings=500.0, minute=5),
        ]
    )
    got = await gateway.get("/v1/changes", key, since=START)
    assert got.status_code == 200, got.text
    body = got.json()
    anomalies = body["anomalies"]
    assert (anomalies["opened"], anomalies["resolved"], anomalies["open_now"]) == (2, 1, 3)
    assert anomalies["opened_impact_usd"] == 305.0
    assert [a["incident_id"] for a in anomalies["top_opened"]] == ["inc-new", "inc-small"]
    assert body["recommendations"] == {"changed": 2, "changed_savings_usd": 50.0, "regressions": 1}
    days = [(c["account_id"], c["cost"], c["previous_cost"], c["change"]) for c in body["costs"]]
    assert days == [(A1, 113.0, 112.0, 1.0), (A2, 50.0, 50.0, 0.0)]
    # Default: the last 24 hours of wall-clock time, in which these 2025 events are old.
    recent = (await gateway.get("/v1/changes", key)).json()
    assert recent["anomalies"]["opened"] == 0


async def test_anomaly_series_shows_actuals_and_the_band_of_each_step(
    gateway: RunningGateway,
) -> None:
    key = await gateway.tenant("acme", [A1])
    other = await gateway.tenant("globex", [B1])
    incident = f.anomaly("inc-1")  # series daily/<A1>/AmazonEC2, window ending at T0
    update = f.anomaly("inc-1", action="update", revision=1, impact=400.0, minute=60 * 24)
    points = [service_cost(A1, "AmazonEC2", day, 100.0 + day) for day in range(-20, 3)]
    await gateway.store([incident, update, *points])
    got = await gateway.get("/v1/anomalies/inc-1/series", key, days=3)
    assert got.status_code == 200, got.text
    body = got.json()
    # The latest step's window [T0, T0 + 1 day), 3 days each side; points stop at day 2.
    assert [p["cost"] for p in body["actual"]] == [97.0, 98.0, 99.0, 100.0, 101.0, 102.0]
    assert [(b["action"], b["expected"], b["lower"], b["upper"]) for b in body["bands"]] == [
        ("open", 750.0, 600.0, 800.0), ("update", 600.0, 600.0, 800.0)
    ]  # fmt: skip
    assert body["root_cause"][0]["share"] == 0.8
    assert (await gateway.get("/v1/anomalies/inc-1/series", other)).status_code == 404
    assert (await gateway.get("/v1/anomalies/inc-1/series", key, days=0)).status_code == 422


async def test_a_forecast_says_why_its_model_was_chosen(gateway: RunningGateway) -> None:
    key = await gateway.tenant("acme", [A1])
    await gateway.store([f.forecast(f"daily/{A1}")])
    got = await gateway.get(f"/v1/forecasts/daily/{A1}", key)
    assert got.status_code == 200
    assert got.json()["why_chosen"] == (
        "lowest backtest MASE at 7 days over 3 folds: prophet 0.80 (the only model scored)"
    )


async def test_a_forecast_says_which_incidents_its_history_held(gateway: RunningGateway) -> None:
    key = await gateway.tenant("acme", [A1])
    held = HistoryIncident(
        incident_id="inc-9", source="anomaly", start=date(2025, 2, 10), end=date(2025, 2, 12),
        imputed_days=3,
    )  # fmt: skip
    await gateway.store(
        [f.forecast(f"daily/{A1}").model_copy(update={"history_incidents": [held]})]
    )
    got = await gateway.get(f"/v1/forecasts/daily/{A1}", key)
    assert got.status_code == 200
    assert got.json()["history_incidents"] == [
        {"incident_id": "inc-9", "source": "anomaly", "start": "2025-02-10", "end": "2025-02-12",
         "imputed_days": 3}
    ]  # fmt: skip


async def test_a_budget_shows_its_open_alert_as_status(gateway: RunningGateway) -> None:
    key = await gateway.tenant("acme", [A1])
    body = {"name": "ec2", "scope": "account", "account_id": A1, "amount_usd": 1000.0}
    created = await gateway.client.post("/v1/budgets", json=body, headers=auth(key))
    budget_id = created.json()["id"]
    assert created.json()["open_alert"] is None

    async def status() -> object:
        one = (await gateway.get(f"/v1/budgets/{budget_id}", key)).json()["open_alert"]
        listed = (await gateway.get("/v1/budgets", key)).json()["items"][0]["open_alert"]
        assert one == listed
        return one

    march = f.budget_alert("ba-1").model_copy(update={"budget_id": budget_id})
    await gateway.store([march])
    alert = await status()
    assert isinstance(alert, dict)
    assert (alert["kind"], alert["projected"], alert["month"]) == (
        "projected_breach", 1500.0, "2025-03-01"
    )  # fmt: skip
    # April's alert resolved: March's still-open one is history, not the status.
    april = march.model_copy(
        update={
            "id": "ba-2-r",
            "incident_id": "ba-2",
            "action": "resolve",
            "month": date(2025, 4, 1),
        }
    )
    await gateway.store([april])
    assert await status() is None
