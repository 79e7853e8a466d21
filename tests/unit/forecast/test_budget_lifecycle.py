from __future__ import annotations

from datetime import UTC, date, datetime

from services.forecast.budgets.breach import BudgetWatch, restore_breach
from shared.events.forecasts import Budget, Forecast, MonthEndProjection

NOW = datetime(2025, 3, 10, tzinfo=UTC)
MARCH = date(2025, 3, 1)


def _budget(amount: float = 1000.0, deleted: bool = False) -> Budget:
    return Budget(
        id="b1",
        tenant_id="t1",
        name="prod",
        scope="account",
        account_id="111",
        account_ids=["111"],
        amount_usd=amount,
        deleted=deleted,
        updated_at=NOW,
    )


def _forecast(
    projected: float, month: date = MARCH, series: str = "daily/111", account: str = "111"
) -> Forecast:
    me = MonthEndProjection(
        month=month,
        actual_to_date=300.0,
        projected=projected,
        lo80=projected * 0.9,
        hi80=projected * 1.1,
        lo95=projected * 0.8,
        hi95=projected * 1.2,
    )
    return Forecast(
        id=f"f{projected}",
        series_id=series,
        account_id=account,
        status="ok",
        model="x",
        history_days=100,
        month_end=me,
        generated_at=NOW,
    )


def test_open_update_resolve_share_one_incident():
    watch = BudgetWatch()
    assert watch.on_budget(_budget(), NOW) == []
    opened = watch.on_forecast(_forecast(1200.0), NOW)
    assert [a.action for a in opened] == ["open"]
    assert watch.on_forecast(_forecast(1210.0), NOW) == []  # < 5% of budget: not news
    updated = watch.on_forecast(_forecast(1400.0), NOW)
    resolved = watch.on_forecast(_forecast(900.0), NOW)
    steps = opened + updated + resolved
    assert [(a.action, a.revision) for a in steps] == [("open", 0), ("update", 1), ("resolve", 2)]
    assert len({a.incident_id for a in steps}) == 1
    assert len({a.id for a in steps}) == 3
    assert opened[0].kind == "projected_breach"
    assert opened[0].budget_usd == 1000.0
    assert "exceeds" in opened[0].reason


def test_hovering_at_the_line_does_not_flap():
    watch = BudgetWatch()
    watch.on_budget(_budget(), NOW)
    assert [a.action for a in watch.on_forecast(_forecast(1001.0), NOW)] == ["open"]
    assert watch.on_forecast(_forecast(995.0), NOW) == []  # inside the resolve margin


def test_service_budgets_ignore_other_series():
    watch = BudgetWatch()
    budget = _budget().model_copy(update={"scope": "service", "service": "AmazonS3"})
    watch.on_budget(budget, NOW)
    assert watch.on_forecast(_forecast(5000.0), NOW) == []  # account-level series


def test_each_month_is_its_own_incident_and_the_old_one_closes():
    watch = BudgetWatch()
    watch.on_budget(_budget(), NOW)
    march = watch.on_forecast(_forecast(1500.0), NOW)
    april = watch.on_forecast(_forecast(1500.0, month=date(2025, 4, 1)), NOW)
    assert march[0].incident_id != april[0].incident_id
    closed = watch.close_months_before(date(2025, 4, 1), NOW)
    assert [(a.action, a.month, a.incident_id) for a in closed] == [
        ("resolve", MARCH, march[0].incident_id)
    ]


def test_deleting_a_budget_resolves_its_open_incident():
    watch = BudgetWatch()
    watch.on_budget(_budget(), NOW)
    watch.on_forecast(_forecast(1500.0), NOW)
    resolved = watch.on_budget(_budget(deleted=True), NOW)
    assert [a.action for a in resolved] == ["resolve"]
    assert watch.on_forecast(_forecast(5000.0), NOW) == []


def test_raising_the_budget_resolves():
    watch = BudgetWatch()
    watch.on_budget(_budget(), NOW)
    watch.on_forecast(_forecast(1500.0), NOW)
    assert [a.action for a in watch.on_budget(_budget(amount=2000.0), NOW)] == ["resolve"]


def test_restored_watch_continues_the_same_incident():
    first = BudgetWatch()
    first.on_budget(_budget(), NOW)
    emitted = first.on_forecast(_forecast(1200.0), NOW)
    restarted = BudgetWatch()
    for alert in emitted:
        restore_breach(restarted, alert)
    restarted.on_budget(_budget(), NOW)
    again = restarted.on_forecast(_forecast(1500.0), NOW)
    assert [(a.action, a.revision) for a in again] == [("update", 1)]
    assert again[0].incident_id == emitted[0].incident_id


def _tenant_budget(accounts: list[str], amount: float = 1000.0) -> Budget:
    return Budget(
        id="bt",
        tenant_id="t1",
        name="all of t1",
        scope="tenant",
        account_ids=accounts,
        amount_usd=amount,
        updated_at=NOW,
    )


def test_tenant_budgets_sum_only_the_accounts_they_cover():
    watch = BudgetWatch()
    watch.on_budget(_tenant_budget(["111", "112"]), NOW)
    watch.on_forecast(_forecast(700.0, series="daily/111"), NOW)
    # Another tenant's account: ten times the budget, and it must not count.
    assert watch.on_forecast(_forecast(9000.0, series="daily/999", account="999"), NOW) == []
    opened = watch.on_forecast(_forecast(600.0, series="daily/112", account="112"), NOW)
    assert [(a.action, a.projected, a.tenant_id) for a in opened] == [("open", 1300.0, "t1")]


def test_a_budget_follows_its_coverage_when_it_is_republished():
    watch = BudgetWatch()
    watch.on_budget(_tenant_budget(["111", "112"]), NOW)
    watch.on_forecast(_forecast(700.0, series="daily/111"), NOW)
    watch.on_forecast(_forecast(600.0, series="daily/112", account="112"), NOW)
    # Account 112 left the tenant: the gateway republishes the budget without it.
    resolved = watch.on_budget(_tenant_budget(["111"]), NOW)
    assert [(a.action, a.projected) for a in resolved] == [("resolve", 700.0)]


def test_a_budget_without_coverage_counts_nothing():
    watch = BudgetWatch()
    watch.on_budget(_tenant_budget([]), NOW)
    assert watch.on_forecast(_forecast(5000.0), NOW) == []
