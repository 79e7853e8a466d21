from datetime import UTC, datetime

import numpy as np

from services.rightsizing.catalogue import Catalogue
from services.rightsizing.evaluate import EvaluationConfig, evaluate_fleet
from services.rightsizing.schedules import SchedulePolicy, plan_one, week_matrix
from tests.unit.rightsizing.rightsizing_synth import business_hours, make_state, noisy

NOW = datetime(2026, 1, 19, tzinfo=UTC)


def fleet() -> list:
    states = [
        make_state(f"biz-{i}", "m5.xlarge", business_hours(busy=40 + i, seed=i)) for i in range(6)
    ]
    states += [
        make_state(f"steady-{i}", "m5.large", noisy(30.0 + i, seed=50 + i)) for i in range(6)
    ]
    return states


def test_kmeans_finds_business_hours_workloads_and_plans_off_hours(catalogue: Catalogue) -> None:
    outcomes = evaluate_fleet(fleet(), catalogue, EvaluationConfig(), NOW)
    events = [e for e in (o.recommendation() for o in outcomes) if e is not None]
    scheduled = {e.resource_id: e.schedule for e in events if e.schedule}
    assert set(scheduled) == {f"biz-{i}" for i in range(6)}
    schedule = scheduled["biz-0"]
    # Mon-Fri 08-18 run = 50 hours a week; everything else stops.
    assert schedule.stopped_hours_per_week == 168 - 50
    assert schedule.consistency >= 0.9
    assert schedule.monthly_savings == round(0.192 * 730 * 118 / 168, 2)
    assert 9 in schedule.run_hours
    assert 0 not in schedule.run_hours


def test_no_schedule_when_idle_hours_differ_week_to_week() -> None:
    weeks = np.full((2, 168), 40.0)
    weeks[0, :60] = 1.0  # first week idle early, second week idle late
    weeks[1, 100:160] = 1.0
    assert plan_one(weeks, SchedulePolicy()) is None


def test_no_schedule_from_a_single_week() -> None:
    weeks = np.full((1, 168), 40.0)
    weeks[0, :100] = 1.0
    assert plan_one(weeks, SchedulePolicy()) is None


def test_week_matrix_places_hours_of_week(catalogue: Catalogue) -> None:
    state = make_state("b", "m5.large", business_hours())
    newest = state.newest_day
    assert newest is not None
    weeks = week_matrix(state.window(14).days, newest, 2)
    assert weeks.shape == (2, 168)
    assert weeks[0, 9] > 30
    assert weeks[0, 3] < 5
    assert weeks[1, 24 * 5 + 10] < 5
