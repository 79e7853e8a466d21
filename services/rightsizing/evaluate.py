"""One evaluation pass over a set of instances (pure; runs in a process pool).

Assess every instance, cluster the eligible ones' week profiles for
schedules, build each recommendation, and return only those whose content
changed since the last one published, with the state updates to apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from services.rightsizing.catalogue.model import Catalogue
from services.rightsizing.recommender import Identity, SizingPolicy, assess_instance, to_event
from services.rightsizing.recommender.findings import Assessment
from services.rightsizing.recommender.recommendation import content_digest
from services.rightsizing.schedules import (
    PlannedSchedule,
    SchedulePolicy,
    normalised_profiles,
    plan_fleet,
    week_matrices,
)
from services.rightsizing.schedules.profiles import DAYS_PER_WEEK, HOURS_PER_WEEK
from services.rightsizing.sketches.codec import decode_state
from services.rightsizing.sketches.day import DayRecord
from services.rightsizing.sketches.state import InstanceState
from shared.events import Recommendation
from shared.events.recommendations import OffHoursSchedule

# Findings for which a stop schedule makes sense (idle ones should just stop).
_SCHEDULABLE = frozenset({"overprovisioned", "optimized", "underprovisioned"})
# Instances whose week matrices are built at once: large enough that numpy
# dominates, small enough that the transient arrays stay ~10 MB at any fleet size.
SCHEDULE_CHUNK = 1024


@dataclass(frozen=True)
class EvaluationConfig:
    """Sizing and schedule policies together."""

    sizing: SizingPolicy = field(default_factory=SizingPolicy)
    schedules: SchedulePolicy = field(default_factory=SchedulePolicy)


@dataclass(frozen=True)
class Outcome:
    """What one instance's evaluation produced."""

    resource_id: str
    finding: str | None
    digest: str | None
    event: Recommendation | None
    skipped: str | None = None


def _schedule(
    plan_hours: list[int], stopped: int, consistency: float, monthly_cost: float | None
) -> OffHoursSchedule:
    savings = (monthly_cost or 0.0) * stopped / HOURS_PER_WEEK
    return OffHoursSchedule(
        run_hours=plan_hours,
        stopped_hours_per_week=stopped,
        monthly_savings=round(savings, 2),
        consistency=consistency,
    )


def _plan_schedules(
    schedulable: list[tuple[str, dict[int, DayRecord], int]], weeks_n: int, policy: SchedulePolicy
) -> dict[str, PlannedSchedule]:
    """Week profiles of every candidate, a chunk at a time, then clustering and planning."""
    n = len(schedulable)
    # float32 holds the weeks exactly: they are the day records' float32 hourly maxima.
    weeks = np.empty((n, weeks_n, HOURS_PER_WEEK), dtype=np.float32)
    profiles = np.empty((n, HOURS_PER_WEEK))
    present = np.empty(n, dtype=bool)
    for lo in range(0, n, SCHEDULE_CHUNK):
        part = schedulable[lo : lo + SCHEDULE_CHUNK]
        chunk = week_matrices([d for _, d, _ in part], [day for _, _, day in part], weeks_n)
        profiles[lo : lo + len(part)], present[lo : lo + len(part)] = normalised_profiles(chunk)
        weeks[lo : lo + len(part)] = chunk
    ids = [resource_id for resource_id, _, _ in schedulable]
    if not present.all():  # rare: no hour of the lookback observed
        rows = np.flatnonzero(present)
        ids, profiles, weeks = [ids[i] for i in rows.tolist()], profiles[rows], weeks[rows]
    return plan_fleet(ids, profiles, weeks, policy)


def evaluate_fleet(
    states: list[InstanceState], catalogue: Catalogue, config: EvaluationConfig, now: datetime
) -> list[Outcome]:
    """Evaluate ``states``; an outcome's ``event`` is None when nothing changed."""
    policy = config.sizing
    weeks_n = max(1, policy.lookback_days // DAYS_PER_WEEK)
    assessed: dict[str, tuple[InstanceState, Identity, Assessment]] = {}
    schedulable: list[tuple[str, dict[int, DayRecord], int]] = []  # id, days, newest day
    outcomes: list[Outcome] = []
    for state in states:
        if state.instance_type is None or state.deleted or not state.running:
            reason = "no inventory record yet" if state.instance_type is None else "not running"
            outcomes.append(Outcome(state.resource_id, None, None, None, reason))
            continue
        if state.instance_type not in catalogue:
            outcomes.append(
                Outcome(
                    state.resource_id,
                    None,
                    None,
                    None,
                    f"type {state.instance_type} not in catalogue",
                )
            )
            continue
        itype = catalogue.get(state.instance_type)
        window = state.window(policy.lookback_days)
        assessment = assess_instance(window, itype, state.region, catalogue, policy)
        who = Identity(state.resource_id, state.account_id, state.region, itype.name, itype.vcpu)
        assessed[state.resource_id] = (state, who, assessment)
        newest = state.newest_day
        if assessment.finding in _SCHEDULABLE and newest is not None:
            schedulable.append((state.resource_id, window.days, newest))
    plans = _plan_schedules(schedulable, weeks_n, config.schedules)
    del schedulable  # the windows' day maps: no longer needed
    # Each assessment is dropped as its outcome is built, so the fleet's
    # assessments and its events are never all resident at once.
    for resource_id in list(assessed):
        state, who, a = assessed.pop(resource_id)
        plan = plans.get(resource_id)
        schedule = (
            None
            if plan is None
            else _schedule(
                plan.run_hours, plan.stopped_hours, plan.consistency, a.current_monthly_cost
            )
        )
        digest = content_digest(a, schedule, who.instance_type)
        event = None
        if digest != state.last_digest:
            event = to_event(
                a, who, policy, schedule, state.last_finding, state.rightsized, now, digest
            )
        outcomes.append(Outcome(resource_id, a.finding, digest, event))
    return outcomes


def evaluate_snapshots(blobs: list[bytes], catalogue: Catalogue, config: EvaluationConfig,
                       now: datetime) -> list[Outcome]:  # fmt: skip
    """``evaluate_fleet`` over states serialised by ``encode_state`` (the process-pool entry).

    The event loop serialises the states itself before handing them over, so
    the pool's feeder thread never pickles a state the loop is still updating.
    """
    return evaluate_fleet([decode_state(blob) for blob in blobs], catalogue, config, now)


def apply_outcome(state: InstanceState, outcome: Outcome) -> None:
    """Record what was published so the next pass knows the previous finding."""
    if outcome.event is None or outcome.digest is None:
        return
    event = outcome.event
    state.last_digest = outcome.digest
    state.last_finding = event.finding
    if event.finding == "optimized":
        state.rightsized = True
    elif event.finding == "underprovisioned":
        state.rightsized = False  # alerted once; it has to be right-sized again first
    state.recommended_types = [o.instance_type for o in event.options][:3]
