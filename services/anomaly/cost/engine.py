"""Cost detection for one account: detectors per series, grouping, lifecycle.

The service and the evaluation run this same code: the service feeds it the
days a completed delivery made complete, the evaluation feeds it a simulated
organisation's daily costs directly. The day a delivery is still filling is
judged from its hours (``judge_partial_day``, see ``cost.intraday``): that can
open an incident and update it as hours arrive; the day's daily judgement then
updates (confirms) or resolves the same incident.

>>> from datetime import date, timedelta
>>> eng = AccountCostEngine("1")
>>> day0 = date(2024, 1, 1)
>>> for i in range(21):
...     _ = eng.evaluate_day(day0 + timedelta(days=i), {("EC2", "Box"): 100.0, ("S3", "Req"): 50.0})
>>> spike = {("EC2", "Box"): 400.0, ("S3", "Req"): 50.0}
>>> events = eng.evaluate_day(day0 + timedelta(days=21), spike)
>>> [(e.action, e.series_id, e.related_series) for e in events]
[('open', 'daily/1/EC2/Box', ['daily/1', 'daily/1/EC2'])]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from services.anomaly.cost.grouping import group_flagged
from services.anomaly.cost.hierarchy import Leaf, SeriesInfo, leaf_info, roll_up
from services.anomaly.cost.intraday import HOURS_PER_DAY, HourOfWeekProfile, IntradayConfig
from services.anomaly.cost.root_cause import explain
from services.anomaly.cost.seasonal import (
    CostDetectorConfig,
    CostSeriesDetector,
    CostVerdict,
)
from services.anomaly.feedback.rules import FeedbackBook
from services.anomaly.incidents.lifecycle import (
    Incident,
    Observation,
    SeriesRef,
    cost_severity,
    open_incident,
    resolve_incident,
    update_incident,
)
from shared.events import AnomalyEvent, Feedback

DEFAULT_INTRADAY = IntradayConfig()
Dims = Mapping[Leaf, Mapping[str, Mapping[str, float]]]
# Tag series id -> dimension (service, usage_type, resource) -> key -> usage cost.
TagDays = Mapping[str, Mapping[str, Mapping[str, float]]]


@dataclass(frozen=True)
class CostEngineConfig:
    """Grouping and lifecycle tuning for cost incidents."""

    detector: CostDetectorConfig = field(default_factory=CostDetectorConfig)
    # A child explaining at least this share of its parent's excess is the cause.
    group_share: float = 0.8
    # Daily data: one normal day means the spike is over.
    resolve_after_normal_days: int = 1
    # A week of region/resource history is the baseline for their contributions.
    dims_history_days: int = 7
    # Keep verdicts long enough to re-evaluate a restated day of the current month.
    verdict_history_days: int = 35
    detector_name: str = "cost-seasonal-v1"
    # A plain (frozen, hashable) default, so configs snapshotted before intra-day
    # detection existed read it from the class.
    intraday: IntradayConfig = DEFAULT_INTRADAY


class AccountCostEngine:
    """All cost series of one account (plain data: lives in the partition's state)."""

    def __init__(self, account_id: str, config: CostEngineConfig | None = None) -> None:
        self.account_id = account_id
        self.config = config or CostEngineConfig()
        self.series: dict[str, SeriesInfo] = {}
        self.detectors: dict[str, CostSeriesDetector] = {}
        self.verdicts: dict[date, dict[str, CostVerdict]] = {}
        self.dims: dict[date, dict[str, Mapping[str, Mapping[str, float]]]] = {}
        self.open: dict[str, Incident] = {}
        self.last_day: date | None = None
        self.days_seen = 0
        self.profiles: dict[str, HourOfWeekProfile] = {}

    def _profiles(self) -> dict[str, HourOfWeekProfile]:
        """Hour-of-week profiles by series (states restored from before they existed: none)."""
        profiles: dict[str, HourOfWeekProfile] = self.__dict__.setdefault("profiles", {})
        return profiles

    def _register(self, leaf: Leaf) -> None:
        late = self.days_seen >= self.config.detector.warmup_days
        for info in leaf_info(self.account_id, leaf):
            if info.series_id not in self.series:
                self.series[info.series_id] = info
                self.detectors[info.series_id] = CostSeriesDetector(self.config.detector, late)

    def _with_tags(self, values: dict[str, float], tags: TagDays | None) -> dict[str, float]:
        """``values`` plus each tag series' total, registering new tag series.

        A tag series is a root of its own (no parent, no children): it groups only
        with itself, and its root cause is ranked from its own breakdown.
        """
        late = self.days_seen >= self.config.detector.warmup_days
        for sid, by_dim in (tags or {}).items():
            if sid not in self.series:
                self.series[sid] = SeriesInfo(sid, "tag", self.account_id, None, None, None)
                self.detectors[sid] = CostSeriesDetector(self.config.detector, late)
            values[sid] = sum(by_dim.get("service", {}).values())
        return values

    def evaluate_day(
        self,
        day: date,
        leaves: Mapping[Leaf, float],
        dims: Dims | None = None,
        book: FeedbackBook | None = None,
        now: datetime | None = None,
        tags: TagDays | None = None,
    ) -> list[AnomalyEvent]:
        """Score, learn and group one newly complete day; return lifecycle events.

        ``tags``: the day's tag series breakdowns (``cost.tags``), if any.
        """
        if self.last_day is not None and day <= self.last_day:
            return self.restate_day(day, leaves, dims, book, now, tags)
        at = datetime.combine(day, time(), UTC)
        for leaf in leaves:
            self._register(leaf)
        values = self._with_tags(roll_up(self.account_id, leaves), tags)
        verdicts: dict[str, CostVerdict] = {}
        for sid in self.series:
            planned = book.planned(sid, at) if book else False
            widen = book.widen(sid, at) if book else 1.0
            verdicts[sid] = self.detectors[sid].observe(
                day, values.get(sid, 0.0), widen=widen, learn=not planned
            )
        self._remember(day, verdicts, leaves, dims, tags)
        self.last_day = day
        self.days_seen += 1
        return self._lifecycle(day, verdicts, book, now or datetime.now(UTC), "daily")

    def learn_hours(self, day: date, hourly: Mapping[Leaf, Sequence[float]]) -> None:
        """Learn each series' hour-of-week profile from judged, complete ``day``.

        ``hourly``: usage cost per leaf and UTC hour (24 each). Days judged anomalous
        are skipped, so a spike's hours do not become the expected rhythm.
        """
        verdicts = self.verdicts.get(day, {})
        per_hour = [
            roll_up(self.account_id, {leaf: hours[h] for leaf, hours in hourly.items()})
            for h in range(HOURS_PER_DAY)
        ]
        rate = self.config.intraday.profile_rate
        for sid in {sid for values in per_hour for sid in values}:
            verdict = verdicts.get(sid)
            if verdict is not None and verdict.anomalous:
                continue
            profile = self._profiles().setdefault(sid, HourOfWeekProfile())
            profile.learn(day, [values.get(sid, 0.0) for values in per_hour], rate)

    def judge_partial_day(
        self,
        day: date,
        hourly: Mapping[Leaf, Sequence[float]],
        hours: int,
        dims: Dims | None = None,
        book: FeedbackBook | None = None,
        now: datetime | None = None,
    ) -> list[AnomalyEvent]:
        """Judge the day still being delivered on its first ``hours`` hours.

        Opens an incident once the excess so far clears both floors, updates it when
        later hours (or restated ones) change what it shows, never resolves: that is
        the daily judgement's call. Nothing is learned.
        """
        cfg = self.config.intraday
        if not cfg.enabled or hours <= 0 or (self.last_day is not None and day <= self.last_day):
            return []
        at = datetime.combine(day, time(), UTC)
        for leaf in hourly:
            self._register(leaf)
        values = roll_up(self.account_id, {leaf: sum(h[:hours]) for leaf, h in hourly.items()})
        verdicts: dict[str, CostVerdict] = {}
        for sid in self.series:
            if self.series[sid].level == "tag":
                continue  # tag series have no hours: judged on complete days only
            actual = values.get(sid, 0.0)
            detector = self.detectors[sid]
            profile = self._profiles().get(sid)
            share = profile.share_through(day, hours) if profile else None
            trusted = profile is not None and profile.days >= cfg.profile_days
            if (detector.ready and (share is None or not trusted)) or (
                book is not None and book.planned(sid, at)
            ):
                verdicts[sid] = CostVerdict(day, actual, actual, 0.0, actual, 0.0, False)
                continue
            widen = book.widen(sid, at) if book else 1.0
            verdicts[sid] = detector.assess_partial(
                day, actual, share or 0.0, widen, cfg.partial_noise_exponent
            )
        self.dims[day] = self._leaf_dims(dims)
        return self._lifecycle(
            day, verdicts, book, now or datetime.now(UTC), "partial", min(hours, HOURS_PER_DAY)
        )

    def restate_day(
        self,
        day: date,
        leaves: Mapping[Leaf, float],
        dims: Dims | None = None,
        book: FeedbackBook | None = None,
        now: datetime | None = None,
        tags: TagDays | None = None,
    ) -> list[AnomalyEvent]:
        """Re-judge an already evaluated day whose cost changed (no re-learning)."""
        old = self.verdicts.get(day)
        if old is None:
            return []
        for leaf in leaves:
            self._register(leaf)
        values = self._with_tags(roll_up(self.account_id, leaves), tags)
        cfg = self.config.detector
        verdicts: dict[str, CostVerdict] = {}
        for sid in self.series:
            prev = old.get(sid)
            actual = values.get(sid, 0.0)
            if prev is None or prev.warming_up:
                verdicts[sid] = prev or CostVerdict(
                    day, actual, 0.0, 0.0, 0.0, 0.0, False, warming_up=True
                )
                continue
            excess = actual - prev.expected
            anomalous = (
                actual > prev.upper
                and excess >= cfg.min_impact_usd
                and excess >= cfg.min_pct * max(prev.expected, 1e-9)
            )
            verdicts[sid] = CostVerdict(
                day,
                actual,
                prev.expected,
                prev.lower,
                prev.upper,
                prev.score if anomalous == prev.anomalous else (0.5 if anomalous else 0.0),
                anomalous,
            )
        if all(verdicts[s].actual == old[s].actual for s in old if s in verdicts):
            return []
        self._remember(day, verdicts, leaves, dims, tags)
        return self._lifecycle(day, verdicts, book, now or datetime.now(UTC), "restated")

    def _remember(
        self,
        day: date,
        verdicts: dict[str, CostVerdict],
        leaves: Mapping[Leaf, float],
        dims: Dims | None,
        tags: TagDays | None = None,
    ) -> None:
        self.verdicts[day] = verdicts
        self.dims[day] = {**self._leaf_dims(dims), **(tags or {})}
        horizon = day - timedelta(days=self.config.verdict_history_days)
        for old in [d for d in self.verdicts if d < horizon]:
            del self.verdicts[old]
        dims_horizon = day - timedelta(days=self.config.dims_history_days + 1)
        for old in [d for d in self.dims if d < dims_horizon]:
            del self.dims[old]

    def _leaf_dims(self, dims: Dims | None) -> dict[str, Mapping[str, Mapping[str, float]]]:
        return {
            leaf_info(self.account_id, leaf)[0].series_id: by_dim
            for leaf, by_dim in (dims or {}).items()
        }

    def _lifecycle(
        self,
        day: date,
        verdicts: dict[str, CostVerdict],
        book: FeedbackBook | None,
        now: datetime,
        mode: str,
        hours: int = HOURS_PER_DAY,
    ) -> list[AnomalyEvent]:
        """Incidents from one judgement of ``day``.

        ``daily``: a complete day; ``restated``: a judged day changed (updates only);
        ``partial``: the day being delivered, through ``hours`` (opens and updates,
        never resolves).
        """
        at = datetime.combine(day, time(), UTC)
        flagged = {sid for sid, v in verdicts.items() if v.anomalous}
        groups = group_flagged(flagged, verdicts, self.series, self.config.group_share)
        if book is not None:
            # A deviation whose cause is planned (or quieted) is dropped with every
            # ancestor it explains; unrelated members keep their own verdicts.
            groups = {
                cause: {m for m in members if not book.suppressed(m, at)}
                for cause, members in groups.items()
                if not book.suppressed(cause, at)
            }
        events: list[AnomalyEvent] = []
        touched: set[str] = set()
        for cause, members in groups.items():
            obs = self._observation(day, cause, members, verdicts, hours)
            incident = self._find_open(cause, members)
            if incident is None and mode == "restated":
                continue  # a restated past day updates incidents, never opens one
            if incident is None:
                incident, event = open_incident(self._ref(cause), obs, now)
                self.open[incident.ref.series_id] = incident
            elif mode == "partial" and _same_view(incident.last, obs):
                continue  # a rewrite that changed nothing this incident shows
            else:
                event = update_incident(incident, obs, now)
            events.append(event)
            touched.add(incident.ref.series_id)
            if verdicts[cause].level_shift:
                events.append(
                    self._close(incident, "level shift confirmed; new level accepted", now)
                )
        if mode != "daily":
            return events
        for sid, incident in list(self.open.items()):
            if sid in touched:
                continue
            incident.normal_streak += 1
            if incident.normal_streak >= self.config.resolve_after_normal_days:
                events.append(self._close(incident, "back within the expected range", now))
        return events

    def _close(self, incident: Incident, reason: str, now: datetime) -> AnomalyEvent:
        self.open.pop(incident.ref.series_id, None)
        return resolve_incident(incident, reason, now)

    def _find_open(self, cause: str, members: set[str]) -> Incident | None:
        related = members | {cause}
        for sid, incident in self.open.items():
            if (
                sid in related
                or cause in incident.members
                or sid.startswith(cause + "/")
                or cause.startswith(sid + "/")
            ):
                return incident
        return None

    def _ref(self, sid: str) -> SeriesRef:
        info = self.series[sid]
        return SeriesRef(
            series_id=sid,
            kind="cost",
            account_id=self.account_id,
            detector=self.config.detector_name,
            service=info.service,
            usage_type=info.usage_type,
        )

    def _observation(
        self,
        day: date,
        cause: str,
        members: set[str],
        verdicts: dict[str, CostVerdict],
        hours: int = HOURS_PER_DAY,
    ) -> Observation:
        v = verdicts[cause]
        at = datetime.combine(day, time(), UTC)
        so_far = f" in {day:%a} 00:00-{hours:02d}:00 UTC so far" if hours < HOURS_PER_DAY else ""
        history = [self.dims[d] for d in sorted(self.dims) if d < day][
            -self.config.dims_history_days :
        ]
        causes = explain(cause, members, verdicts, self.series, self.dims.get(day, {}), history)
        excess = v.actual - v.expected
        top = next((c for c in causes if c.dimension == "usage_type"), None)
        driver = f"; top usage type {top.value} ({top.share:.0%} of the excess)" if top else ""
        pct = excess / v.expected if v.expected > 0 else float("inf")
        return Observation(
            window_start=at,
            window_end=at + timedelta(hours=hours),
            actual=round(v.actual, 6),
            expected=round(v.expected, 6),
            lower=round(v.lower, 6),
            upper=round(v.upper, 6),
            score=v.score,
            severity=cost_severity(excess, v.expected),
            reason=(
                f"{cause} cost ${v.actual:,.2f}{so_far} vs expected ${v.expected:,.2f} "
                f"(+{pct:.0%}){driver}"
            ),
            root_cause=tuple(causes),
            related_series=tuple(sorted(members - {cause})),
        )

    def apply_feedback(self, feedback: Feedback, now: datetime | None = None) -> list[AnomalyEvent]:
        """Resolve the incident a verdict closes (see ``feedback.rules`` for the rest)."""
        if feedback.verdict not in ("false_positive", "expected"):
            if feedback.verdict == "true_positive":
                for incident in self.open.values():
                    if incident.incident_id == feedback.incident_id:
                        incident.confirmed = True
            return []
        for incident in list(self.open.values()):
            if incident.incident_id != feedback.incident_id:
                continue
            if feedback.verdict == "expected" and self.last_day in self.verdicts:
                last = self.verdicts[self.last_day]
                for member in incident.members:
                    if member in last and member in self.detectors:
                        self.detectors[member].accept_level(self.last_day, last[member].actual)
            reason = (
                "marked false positive"
                if feedback.verdict == "false_positive"
                else "expected by a person"
            )
            return [self._close(incident, reason, now or datetime.now(UTC))]
        return []


def _same_view(last: Observation, new: Observation) -> bool:
    """Whether a partial re-judgement shows what the incident already said (to the cent)."""
    return (
        last.window_end == new.window_end
        and round(last.actual, 2) == round(new.actual, 2)
        and round(last.expected, 2) == round(new.expected, 2)
    )
