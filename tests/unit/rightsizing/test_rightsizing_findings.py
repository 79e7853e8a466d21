from datetime import UTC, datetime

import numpy as np
import pytest

from services.rightsizing.catalogue import Catalogue
from services.rightsizing.evaluate import EvaluationConfig, apply_outcome, evaluate_fleet
from services.rightsizing.exceptions import RightsizingError
from services.rightsizing.recommender import SizingPolicy, assess_instance
from services.rightsizing.recommender.options import Demand, best_options
from services.rightsizing.recommender.recommendation import is_regression
from tests.unit.rightsizing.rightsizing_synth import make_state, noisy

NOW = datetime(2026, 1, 19, tzinfo=UTC)
POLICY = SizingPolicy()


def assess(catalogue: Catalogue, state, policy: SizingPolicy = POLICY):
    itype = catalogue.get(state.instance_type)
    return assess_instance(
        state.window(policy.lookback_days), itype, state.region, catalogue, policy
    )


def test_idle_needs_low_peak_cpu_and_low_network(catalogue: Catalogue) -> None:
    quiet = assess(catalogue, make_state("i", "m5.large", noisy(1.0), net_bytes_per_step=1_000))
    assert quiet.finding == "idle"
    assert quiet.estimated_monthly_savings == pytest.approx(0.096 * 730)
    chatty = assess(catalogue, make_state("i", "m5.large", noisy(1.0), net_bytes_per_step=1e6))
    assert chatty.finding != "idle"


def test_overprovisioned_offers_cheaper_options_within_headroom(catalogue: Catalogue) -> None:
    a = assess(catalogue, make_state("i", "m5.2xlarge", noisy(12.0), mem=noisy(20.0, seed=3)))
    assert a.finding == "overprovisioned"
    assert 1 <= len(a.options) <= 3
    for option in a.options:
        assert option.projected_cpu_pct <= POLICY.cpu_target_pct
        assert option.projected_memory_pct is not None
        assert option.projected_memory_pct <= POLICY.memory_target_pct
        assert option.monthly_savings > 0
        assert 0 <= option.performance_risk <= 4
    assert a.estimated_monthly_savings == a.options[0].monthly_savings
    assert any(o.migration_effort == "very_low" for o in a.options)  # a same-family choice


def test_options_keep_architecture_and_vendor_unless_the_account_opts_in(
    catalogue: Catalogue,
) -> None:
    state = make_state("i", "m5.2xlarge", noisy(12.0), mem=noisy(20.0, seed=3))
    kept = assess(catalogue, state)
    assert kept.options
    assert {(o.itype.arch, o.itype.cpu_manufacturer) for o in kept.options} == {("amd64", "intel")}
    assert all(o.platform_differences == () for o in kept.options)
    opted = assess(catalogue, state, SizingPolicy(other_architectures=True))
    assert opted.options[0].itype.arch == "arm64"  # Graviton, preferred when it saves about as much
    assert opted.options[0].migration_effort == "medium"
    assert "architecture amd64 -> arm64" in opted.options[0].platform_differences


def test_an_os_without_arm64_builds_never_gets_graviton(catalogue: Catalogue) -> None:
    opted = SizingPolicy(other_architectures=True)
    current, demand = catalogue.get("m5.2xlarge"), Demand(15.0, 12.0, 20.0)
    linux = best_options(current, demand, catalogue, "us-east-1", opted, True, "Linux/UNIX")
    assert any(o.itype.arch == "arm64" for o in linux)
    for platform in ("Windows", "Windows with SQL Server Standard", "Linux with SQL Server Web"):
        options = best_options(current, demand, catalogue, "us-east-1", opted, True, platform)
        assert options, platform
        assert all(o.itype.arch == "amd64" for o in options), platform


def test_opt_in_is_per_account(catalogue: Catalogue) -> None:
    config = EvaluationConfig(other_architecture_accounts=frozenset({"222222222222"}))
    assert not config.policy_for("111111111111").other_architectures
    assert config.policy_for("222222222222").other_architectures
    everyone = EvaluationConfig(other_architecture_accounts=frozenset({"*"}))
    assert everyone.policy_for("111111111111").other_architectures


def test_unknown_memory_still_offers_the_family_downsize_at_more_risk(catalogue: Catalogue) -> None:
    state = make_state("i", "m5.2xlarge", noisy(12.0))
    a = assess(catalogue, state)
    assert a.finding == "overprovisioned"  # CPU alone decides the finding
    assert a.memory_pct is None
    smaller = [o for o in a.options if o.itype.memory_gib < 32.0]
    assert smaller, "a same-family downsize that CPU supports must be offered"
    assert all(o.itype.family == "m5" for o in smaller)  # other families must keep memory
    measured = assess(catalogue, make_state("i", "m5.2xlarge", noisy(12.0), mem=noisy(20.0)))
    same = {o.itype.name: o.performance_risk for o in measured.options}
    for option in smaller:
        if option.itype.name in same:
            assert option.performance_risk > same[option.itype.name]
    assert any("mem_used_percent" in n for n in a.notes)
    event = evaluate_fleet([state], catalogue, EvaluationConfig(), NOW)[0].recommendation()
    assert event is not None
    assert not event.memory_measured
    assert "Memory is not measured" in event.reason
    assert "mem_used_percent" in event.reason


def test_underprovisioned_offers_bigger_types(catalogue: Catalogue) -> None:
    a = assess(catalogue, make_state("i", "c5.large", noisy(90.0)))
    assert a.finding == "underprovisioned"
    assert a.options
    assert all(o.itype.vcpu > 2 for o in a.options)
    assert all(o.projected_cpu_pct <= POLICY.cpu_target_pct for o in a.options)
    assert any("pinned" in n for n in a.notes)


def test_optimized_when_a_size_down_would_breach_the_target(catalogue: Catalogue) -> None:
    a = assess(catalogue, make_state("i", "m5.xlarge", noisy(55.0)))
    assert a.finding == "optimized"
    assert a.estimated_monthly_savings == 0.0


def test_insufficient_data_below_30_hours(catalogue: Catalogue) -> None:
    a = assess(catalogue, make_state("i", "m5.2xlarge", noisy(1.0), hours=29))
    assert a.finding == "insufficient_data"
    assert not a.options
    b = assess(catalogue, make_state("i", "m5.2xlarge", noisy(1.0), hours=31, net_bytes_per_step=1))
    assert b.finding == "idle"


def test_burstable_credit_drain_is_underprovisioned(catalogue: Catalogue) -> None:
    a = assess(catalogue, make_state("i", "t3.large", noisy(50.0)))
    assert a.finding == "underprovisioned"
    assert any("credit baseline" in n for n in a.notes)


def test_burstable_candidates_must_sustain_the_mean(catalogue: Catalogue) -> None:
    a = assess(catalogue, make_state("i", "m5.2xlarge", noisy(30.0), mem=noisy(10.0, seed=4)))
    for option in a.options:
        if option.itype.burstable:
            assert option.itype.burst_baseline_pct is not None
            assert 30.0 * 8 / option.itype.vcpu <= option.itype.burst_baseline_pct * 1.1


@pytest.mark.parametrize(("percentile", "headroom"), [(90.0, 0.0), (95.0, 30.0), (99.5, 20.0)])
def test_selectable_percentiles_and_headroom(
    catalogue: Catalogue, percentile: float, headroom: float
) -> None:
    policy = SizingPolicy(cpu_percentile=percentile, cpu_headroom_pct=headroom)
    a = assess(catalogue, make_state("i", "m5.2xlarge", noisy(12.0)), policy)
    assert all(o.projected_cpu_pct <= 100 - headroom for o in a.options)


def test_unsupported_policy_values_are_refused() -> None:
    with pytest.raises(RightsizingError, match="choose one of"):
        SizingPolicy(cpu_percentile=99.0)


def test_change_and_regression_flags() -> None:
    assert is_regression("underprovisioned", "optimized", rightsized=False)
    assert is_regression("underprovisioned", "overprovisioned", rightsized=True)
    assert not is_regression("underprovisioned", "overprovisioned", rightsized=False)


def test_regression_alert_after_an_optimized_instance_saturates(catalogue: Catalogue) -> None:
    state = make_state("i-r", "m5.xlarge", noisy(55.0))
    first = evaluate_fleet([state], catalogue, EvaluationConfig(), NOW)[0]
    first_event = first.recommendation()
    assert first_event is not None
    assert first_event.finding == "optimized"
    apply_outcome(state, first)
    assert evaluate_fleet([state], catalogue, EvaluationConfig(), NOW)[0].event is None  # no change
    ts = np.arange((20_454 + 14) * 86_400, (20_454 + 28) * 86_400, 300, dtype=np.int64)
    state.add("CPUUtilization", "Maximum", ts, noisy(95.0)(ts))
    second = evaluate_fleet([state], catalogue, EvaluationConfig(), NOW)[0]
    second_event = second.recommendation()
    assert second_event is not None
    assert second_event.finding == "underprovisioned"
    assert second_event.previous_finding == "optimized"
    assert second_event.regression


def test_unknown_type_and_missing_inventory_are_skipped_with_reason(catalogue: Catalogue) -> None:
    a = make_state("i-a", "zz9.huge", noisy(5.0))
    b = make_state("i-b", "m5.large", noisy(5.0))
    b.instance_type = None
    outcomes = {
        o.resource_id: o for o in evaluate_fleet([a, b], catalogue, EvaluationConfig(), NOW)
    }
    assert "not in catalogue" in (outcomes["i-a"].skipped or "")
    assert "no inventory" in (outcomes["i-b"].skipped or "")


def test_region_without_prices_falls_back_and_says_so(catalogue: Catalogue) -> None:
    a = assess(catalogue, make_state("i", "m5.2xlarge", noisy(12.0), region="eu-west-1"))
    assert a.finding == "overprovisioned"
    assert any("no Linux/UNIX (shared tenancy) prices for eu-west-1" in n for n in a.notes)


@pytest.mark.parametrize(
    ("region", "platform", "why"),
    [
        ("eu-west-1", "Linux/UNIX", "no Linux/UNIX (shared tenancy) prices for eu-west-1"),
        ("us-east-1", "Windows", "no Windows (shared tenancy) prices for us-east-1"),
        ("us-east-1", "Red Hat Enterprise Linux", "no Red Hat Enterprise Linux (shared"),
        ("us-east-1", "Windows BYOL", "price list is known for the OS 'Windows BYOL'"),
    ],
)
def test_no_price_is_borrowed_from_another_region_or_os(
    catalogue: Catalogue, region: str, platform: str, why: str
) -> None:
    state = make_state("i", "m5.2xlarge", noisy(12.0), mem=noisy(20.0, seed=3))
    state.region, state.platform = region, platform
    a = assess_instance(
        state.window(14), catalogue.get("m5.2xlarge"), region, catalogue, POLICY, platform
    )
    assert a.finding == "overprovisioned"  # shapes still decide the finding
    assert a.options == []
    assert a.estimated_monthly_savings == 0.0
    assert a.current_monthly_cost is None
    assert any(why in note for note in a.notes)
    event = evaluate_fleet([state], catalogue, EvaluationConfig(), NOW)[0].recommendation()
    assert event is not None
    assert event.options == []
    assert why in event.reason
