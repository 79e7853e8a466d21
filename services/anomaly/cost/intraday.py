"""Judging the current, incomplete day from its hours: profile and completeness.

CUR is rewritten several times a day and each rewrite shows the hours up to a cutoff
8-24 h in the past, the newest ones not yet settled. So the day being delivered is
judged on the hours it has: the expected cost *so far* is the daily baseline times the
share of a day's cost its hour-of-week profile puts in those hours. Hours after the
newest one present are missing, not zero; an unsettled hour only ever shows less than
it will, so the partial judgement looks for excess only and never calls a low partial
day a drop or resolves anything: the daily judgement, once the day is complete,
confirms or closes what the partial one opened.

>>> from datetime import date, timedelta
>>> profile = HourOfWeekProfile()
>>> monday = date(2024, 1, 1)
>>> profile.learn(monday, [0.0] * 12 + [2.0] * 12, rate=0.25)
>>> round(profile.share_through(monday, 12), 6), round(profile.share_through(monday, 18), 6)
(0.0, 0.5)
>>> profile.share_through(date(2024, 1, 2), 18) is None  # no Tuesday seen yet
True
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

HOURS_PER_DAY = 24


@dataclass(frozen=True)
class IntradayConfig:
    """Tuning of the partial-day judgement (the floors are the daily detector's)."""

    enabled: bool = True
    # Weight of a new day in its weekday's hour shares: four weeks of memory, so a
    # changed daily rhythm is followed within a month while one odd day barely moves it.
    profile_rate: float = 0.25
    # Days of hourly history before a series' profile is trusted: every weekday twice.
    profile_days: int = 14
    # A sum over a fraction f of the day is noisier, relative to its mean, than the
    # whole day: the band widens by f ** -exponent (0.5: hours as independent draws).
    partial_noise_exponent: float = 0.5
    # A day is complete (judged daily, learned) once a delivery covers the next day
    # for this many hours: CUR's newest hours are not settled yet, and a day judged
    # with its last hours short is judged (and learned) low. Until then it is judged
    # as a partial day. 0: complete as soon as a later day has data (the old rule).
    settle_hours: int = 4


def _shares(hours: Sequence[float]) -> list[float] | None:
    total = sum(hours)
    if total <= 0:
        return None
    return [max(0.0, h) / total for h in hours]


class HourOfWeekProfile:
    """Share of a day's cost per UTC hour, for each weekday, of one series.

    Plain data for the state codec: one 24-float32 blob per weekday (672 bytes a
    series) plus the number of days learned.
    """

    def __init__(self) -> None:
        self.shares: dict[int, bytes] = {}
        self.days = 0

    def learn(self, day: date, hours: Sequence[float], rate: float) -> None:
        """Move ``day``'s weekday towards the shares of ``hours`` (a complete day)."""
        new = _shares(hours)
        if new is None or len(new) != HOURS_PER_DAY:
            return
        old = self.shares.get(day.weekday())
        if old is not None:
            prev = array("f", old)
            new = [(1 - rate) * p + rate * n for p, n in zip(prev, new, strict=True)]
        self.shares[day.weekday()] = array("f", new).tobytes()
        self.days += 1

    def share_through(self, day: date, hours: int) -> float | None:
        """Expected share of ``day``'s cost in its first ``hours`` hours (None: unseen)."""
        blob = self.shares.get(day.weekday())
        if blob is None:
            return None
        if hours >= HOURS_PER_DAY:
            return 1.0
        return float(sum(array("f", blob)[: max(0, hours)]))


def complete_before(latest: date, covered: int | None, config: IntradayConfig) -> date:
    """The first day not yet complete, given the newest day and its covered hours.

    ``covered`` None: the delivery does not hold that day (a late rewrite of last
    month), so it settles nothing new.
    """
    if config.settle_hours <= 0:
        return latest
    if covered is None or covered < config.settle_hours:
        return latest - timedelta(days=1)
    return latest
