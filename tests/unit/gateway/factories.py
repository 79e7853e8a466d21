"""Event factories for gateway tests: valid events with deterministic ids."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from shared.events import (
    AnomalyEvent,
    BudgetAlert,
    CostPoint,
    CostRestated,
    DeadLetter,
    Forecast,
    Recommendation,
    RootCause,
    stable_id,
)
from shared.events.commitments import (
    CommitmentAlert,
    CommitmentReport,
    HeldCommitment,
    PurchaseRecommendation,
)
from shared.events.costs import series_tag
from shared.events.forecasts import BacktestScore, ForecastPoint, MonthEndProjection
from shared.events.recommendations import RightsizeOption
from shared.events.savings import Implementation

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def anomaly(
    incident: str,
    action: str = "open",
    revision: int = 0,
    account: str = "111111111111",
    service: str = "AmazonEC2",
    severity: str = "high",
    impact: float = 250.0,
    minute: int = 0,
    series: str | None = None,
) -> AnomalyEvent:
    at = T0 + timedelta(minutes=minute)
    return AnomalyEvent(
        id=stable_id(incident, action, revision),
        incident_id=incident,
        action=action,  # type: ignore[arg-type]  # tests pass valid literals
        revision=revision,
        kind="cost",
        series_id=series or f"daily/{account}/{service}",
        account_id=account,
        service=service,
        window_start=at - timedelta(days=1),
        window_end=at,
        actual=1000.0,
        expected=1000.0 - impact,
        lower=600.0,
        upper=800.0,
        score=0.99,
        severity=severity,  # type: ignore[arg-type]  # tests pass valid literals
        impact_usd=impact,
        root_cause=[
            RootCause(
                dimension="usage_type",
                value="BoxUsage:m5.large",
                actual=900.0,
                expected=700.0,
                contribution=200.0,
                share=0.8,
            )
        ],
        detector="zscore",
        reason="EC2 spend doubled",
        detected_at=at,
    )


def recommendation(
    resource: str,
    account: str = "111111111111",
    savings: float = 42.0,
    regression: bool = False,
    minute: int = 0,
) -> Recommendation:
    at = T0 + timedelta(minutes=minute)
    return Recommendation(
        id=stable_id("rec", resource, at.isoformat()),
        resource_id=resource,
        account_id=account,
        region="us-east-1",
        current_type="m5.xlarge",
        finding="underprovisioned" if regression else "overprovisioned",
        reason="p95 CPU 12% over 14 days",
        lookback_days=14,
        cpu_percentile=12.0,
        memory_measured=False,
        hours_observed=336.0,
        current_monthly_cost=140.0,
        options=[
            RightsizeOption(
                rank=1,
                instance_type="m5.large",
                vcpu=2,
                memory_gib=8,
                hourly_price=0.096,
                projected_cpu_pct=24.0,
                monthly_cost=70.0,
                monthly_savings=savings,
                performance_risk=1.0,
                migration_effort="low",
            )
        ],
        estimated_monthly_savings=savings,
        regression=regression,
        generated_at=at,
    )


def forecast(series: str, account: str = "111111111111") -> Forecast:
    points = [
        ForecastPoint(
            date=date(2025, 3, 2) + timedelta(days=i),
            yhat=100.0,
            lo80=90.0,
            hi80=110.0,
            lo95=80.0,
            hi95=120.0,
        )
        for i in range(7)
    ]
    return Forecast(
        id=stable_id("fc", series),
        series_id=series,
        account_id=account,
        service="AmazonEC2",
        status="ok",
        model="prophet",
        history_days=90,
        last_date=date(2025, 3, 1),
        horizons={7: points, 30: points},
        backtest=[
            BacktestScore(
                model="prophet",
                folds=3,
                horizon_days=7,
                mape=0.05,
                mase=0.8,
                coverage80=0.8,
                coverage95=0.95,
            )
        ],
        month_end=MonthEndProjection(
            month=date(2025, 3, 1),
            actual_to_date=100.0,
            projected=3100.0,
            lo80=3000.0,
            hi80=3200.0,
            lo95=2900.0,
            hi95=3300.0,
        ),
        generated_at=T0,
    )


def cost(
    account: str = "111111111111", day: int = 0, value: float = 10.0, series: str | None = None
) -> CostPoint:
    """A daily point of the account series, or of ``series`` (a tag series id)."""
    series = series or f"daily/{account}"
    period = T0 + timedelta(days=day)
    return CostPoint(
        id=stable_id("cost", series, period.isoformat(), value),
        series_id=series,
        level="tag" if series_tag(series) else "account",
        granularity="daily",
        period_start=period,
        account_id=account,
        cost=value,
        attempt_id="attempt-1",
        as_of=T0 + timedelta(days=day + 1),
    )


def dead_letter(n: int = 0) -> DeadLetter:
    return DeadLetter(
        id=stable_id("dl", n),
        source_topic="spendstream.anomalies.v1",
        partition=0,
        offset=n,
        value="{not json",
        reason="invalid JSON",
        error_type="DecodeError",
        service="gateway",
        failed_at=T0,
    )


def budget_alert(incident: str, account: str = "111111111111") -> BudgetAlert:
    return BudgetAlert(
        id=stable_id("ba", incident),
        incident_id=incident,
        action="open",
        kind="projected_breach",
        series_id=f"daily/{account}",
        account_id=account,
        month=date(2025, 3, 1),
        budget_usd=1000.0,
        actual_to_date=600.0,
        projected=1500.0,
        lo80=1400.0,
        hi80=1600.0,
        reason="projected to exceed the budget by $500",
        detected_at=T0,
    )


def restatement(
    account: str = "111111111111",
    series: str = "AmazonEC2",
    previous: float = 500.0,
    new: float = 380.0,
    day: int = 0,
) -> CostRestated:
    """A later delivery moved ``day``; ``new < previous`` is a late credit or refund."""
    sid = f"daily/{account}/{series}"
    return CostRestated(
        id=stable_id(sid, day, previous, new, "restated"),
        series_id=sid,
        period_start=T0 - timedelta(days=10 - day),
        account_id=account,
        previous_cost=previous,
        new_cost=new,
        delta=new - previous,
        previous_attempt_id="attempt-1",
        attempt_id="attempt-2",
        detected_at=T0 + timedelta(minutes=day),
    )


def commitment_report(
    account: str = "111111111111", savings: float = 120.0, minute: int = 0
) -> CommitmentReport:
    """An account's report: one held Savings Plan, one Compute SP purchase."""
    plan = f"arn:aws:savingsplans::{account}:savingsplan/sp-{account}"
    return CommitmentReport(
        id=stable_id("commitment-report", account, minute),
        account_id=account,
        attempt_id=f"attempt-{minute}",
        window_start=T0 - timedelta(days=60),
        window_end=T0,
        hours=60 * 24,
        eligible_on_demand=10_000.0,
        savings_plan_coverage=0.4,
        reservation_coverage=0.1,
        coverage=0.5,
        utilisation=0.97,
        commitments=[
            HeldCommitment(
                arn=plan,
                kind="savings_plan",
                hours=1440.0,
                commitment_cost=3000.0,
                used_cost=2910.0,
                utilisation=0.97,
                covered_on_demand=4000.0,
                net_savings=1000.0,
                end=T0 + timedelta(days=200),
            )
        ],
        recommendations=[
            PurchaseRecommendation(
                product="compute_sp",
                term_years=1,
                payment_option="no_upfront",
                lookback_days=30,
                hourly_commitment=1.5,
                discount=0.28,
                on_demand_cost=5000.0,
                net_savings=savings * 30 * 24 / 730,
                estimated_monthly_savings=savings,
                projected_coverage=0.6,
                projected_utilisation=0.98,
                break_even_utilisation=0.72,
            )
        ],
        unpriced=[],
        generated_at=T0 + timedelta(minutes=minute),
    )


def commitment_alert(
    account: str = "111111111111", reason: str = "low_utilisation", minute: int = 0
) -> CommitmentAlert:
    """A Savings Plan used at 55% (or ending in 10 days)."""
    arn = f"arn:aws:savingsplans::{account}:savingsplan/sp-{account}"
    return CommitmentAlert(
        id=stable_id("commitment-alert", account, arn, reason, minute),
        account_id=account,
        arn=arn,
        kind="savings_plan",
        reason=reason,  # type: ignore[arg-type]
        utilisation=0.55,
        threshold=0.8 if reason == "low_utilisation" else None,
        end=T0 + timedelta(days=10),
        days_left=10.0 if reason == "expiring" else None,
        unused_cost=450.0 if reason == "low_utilisation" else 0.0,
        detected_at=T0 + timedelta(minutes=minute),
    )


def implementation(
    resource: str = "i-1",
    account: str = "111111111111",
    realised: float | None = 60.0,
    minute: int = 0,
) -> Implementation:
    """A type change estimated to save 70/month; ``realised`` None while not yet billed."""
    through = None if realised is None else T0 + timedelta(days=9)
    return Implementation(
        id=stable_id("implementation", resource, realised, minute),
        resource_id=resource,
        account_id=account,
        region="us-east-1",
        recommendation_id=f"rec-{resource}",
        kind="type_change",
        from_type="m5.xlarge",
        to_type="m5.large",
        implemented_at=T0 + timedelta(days=1, minutes=minute),
        estimated_monthly_savings=70.0,
        before_monthly_cost=1000.0,
        after_monthly_cost=None if realised is None else 1000.0 - realised,
        realised_monthly_savings=realised,
        measured_through=through,
        generated_at=T0 + timedelta(days=10, minutes=minute),
    )
