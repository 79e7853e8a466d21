"""One evaluation pass over a set of instances (pure; runs in a process pool).

Assess every instance, cluster the eligible ones' week profiles for
schedules, build each recommendation, and return only those whose content
changed since the last one published, with the state updates to apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from services.rightsizing.catalogue.model import Catalogue
from services.rightsizing.recommender import Identity, SizingPolicy, assess_instance, to_event
from services.rightsizing.recommender.findings import Assessment
from services.rightsizing.recommender.recommendation import content_digest
from services.rightsizing.savings import RecommendationMemo, memo_of
from services.rightsizing.schedules import (
    PlannedSchedule,
    SchedulePolicy,
    normalised_profiles,
    on_off_members,
    plan_one,
    week_matrices,
)
from services.rightsizing.schedules.profiles import DAYS_PER_WEEK, HOURS_PER_WEEK
from services.rightsizing.sketches.codec import decode_state
from services.rightsizing.sketches.day import DayRecord
from services.rightsizing.sketches.state import InstanceState
from shared.codec import Encoded
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
    # Accounts opted in to Graviton and other CPU vendors ("*": every account).
    other_architecture_accounts: frozenset[str] = frozenset()

    def policy_for(self, account_id: str) -> SizingPolicy:
        """The sizing policy of one account (its architecture preference applied)."""
        accounts = self.other_architecture_accounts
        if "*" in accounts or account_id in accounts:
            return replace(self.sizing, other_architectures=True)
        return self.sizing


@dataclass(frozen=True)
class Outcome:
    """What one instance's evaluation produced.

    The event travels serialised: a fleet's outcomes cross the process pool
    and wait to be sent, and a pydantic model is several times its JSON size.
    """

    resource_id: str
    finding: str | None
    digest: str | None
    event: Encoded | None
    skipped: str | None = None
    # What the next pass needs to know about what was published.
    rightsized: bool | None = None
    recommended_types: tuple[str, ...] = ()
    memo: RecommendationMemo | None = None

    def recommendation(self) -> Recommendation | None:
        """The published event as a model (for tests and reports)."""
        if self.event is None:
            return None
        decoded = self.event.decode()
        assert isinstance(decoded, Recommendation)
        return decoded


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
    """Cluster every candidate's week profile, then plan the on/off members.

    Week matrices are built a chunk at a time and only the 168-hour profiles
    are kept for clustering; the few members get their matrices built again
    for planning, so no fleet-sized ``weeks x 168`` array ever exists.
    """
    schedulable.sort(key=lambda item: item[0])  # clustered in id order
    n = len(schedulable)
    profiles = np.empty((n, HOURS_PER_WEEK), dtype=np.float32)
    present = np.empty(n, dtype=bool)
    for lo in range(0, n, SCHEDULE_CHUNK):
        part = schedulable[lo : lo + SCHEDULE_CHUNK]
        chunk = week_matrices([d for _, d, _ in part], [day for _, _, day in part], weeks_n)
        profiles[lo : lo + len(part)], present[lo : lo + len(part)] = normalised_profiles(chunk)
    if not present.all():  # rare: no hour of the lookback observed
        rows = np.flatnonzero(present)
        schedulable, profiles = [schedulable[i] for i in rows.tolist()], profiles[rows]
    labels = on_off_members([resource_id for resource_id, _, _ in schedulable], profiles, policy)
    members = [item for item in schedulable if item[0] in labels]
    plans: dict[str, PlannedSchedule] = {}
    for lo in range(0, len(members), SCHEDULE_CHUNK):
        part = members[lo : lo + SCHEDULE_CHUNK]
        chunk = week_matrices([d for _, d, _ in part], [day for _, _, day in part], weeks_n)
        for (resource_id, _, _), weeks in zip(part, chunk, strict=True):
            plan = plan_one(weeks, policy, labels[resource_id])
            if plan is not None:
                plans[resource_id] = plan
    return plans


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
        assessment = assess_instance(
            window,
            itype,
            state.region,
            catalogue,
            config.policy_for(state.account_id),
            state.platform,
            state.tenancy,
            state.rate,
        )
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
        if digest == state.last_digest:
            outcomes.append(Outcome(resource_id, a.finding, digest, None))
            continue
        event = to_event(
            a, who, policy, schedule, state.last_finding, state.rightsized, now, digest
        )
        outcomes.append(
            Outcome(
                resource_id,
                event.finding,
                digest,
                Encoded.of(event),
                rightsized=_rightsized_after(event.finding, state.rightsized),
                recommended_types=tuple(o.instance_type for o in event.options[:3]),
                memo=memo_of(event),
            )
        )
    return outcomes


def evaluate_snapshots(blobs: list[bytes], catalogue: Catalogue, config: EvaluationConfig,
                       now: datetime) -> list[Outcome]:  # fmt: skip
    """``evaluate_fleet`` over states serialised by ``encode_state`` (the process-pool entry).

    The event loop serialises the states itself before handing them over, so
    the pool's feeder thread never pickles a state the loop is still updating.
    """
    return evaluate_fleet([decode_state(blob) for blob in blobs], catalogue, config, now)


def _rightsized_after(finding: str, rightsized: bool) -> bool:
    if finding == "optimized":
        return True
    if finding == "underprovisioned":
        return False  # alerted once; it has to be right-sized again first
    return rightsized


def apply_outcome(state: InstanceState, outcome: Outcome) -> None:
    """Record what was published so the next pass knows the previous finding."""
    if outcome.event is None or outcome.digest is None:
        return
    state.last_digest = outcome.digest
    state.last_finding = outcome.finding
    if outcome.rightsized is not None:
        state.rightsized = outcome.rightsized
    state.recommended_types = list(outcome.recommended_types)
    if outcome.memo is not None:
        state.memo = outcome.memo
