"""Judging 5-minute usage metrics against their hour-of-week normal, many streams at once.

Each stream's datapoints arrive already converted to CUR usage units
(``shared.usage_metrics``), so an excess is priced by one multiplication with the
account's unit rate. The normal is a per-stream mean for each of the 168 hours of the
week, learnt by exponential averaging from periods outside incidents. On every period
the sums of the last 1, 3 and 12 periods are compared with their expected sums: a
window opens an incident when it is above expected by more than ``k_sigma`` of its
own learnt relative spread (and at least ``min_ratio``), and when its excess, as a
daily run rate in dollars (the excess ratio times a typical day's usage), clears
the dollar floor. So a runaway that doubles a NAT
gateway's bytes is flagged within a period or two, while a resource whose usage is
noisy needs a larger move. Once open, an incident collects its priced excess until the
hour window is back near normal; after ``max_open_days`` the profile starts to learn
again (a step that persists becomes the new normal, and the incident resolves).

Arrays, not objects per stream: one evaluation steps hundreds of streams through
months of 5-minute data, and the service steps one stream at a time with N = 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOURS_PER_WEEK = 168
STEPS_PER_HOUR = 12
STEPS_PER_DAY = 288
#: 1970-01-01 (step 0) was a Thursday: hour-of-week counts from Monday 00:00 UTC.
EPOCH_HOUR_OF_WEEK = 72
#: Relative residuals are clipped here before they teach the spread: one outage or
#: burst must not widen the band for weeks.
MAX_RESIDUAL = 1.0


@dataclass(frozen=True)
class UsageDetectorConfig:
    """Tuning, chosen on validation seeds (``evals/usage_latency.py``)."""

    windows: tuple[int, ...] = (1, 3, 12)
    #: Per window: a single period is judged more strictly than an hour's sum, since
    #: it is tested twelve times as often and its spread has heavier tails.
    k_sigma: tuple[float, ...] = (8.0, 6.0, 4.0)
    min_ratio: float = 0.3
    #: Excess run rate (USD/day) below which a deviation is not worth an incident; the
    #: cost detector's floor, so both paths page on the same money.
    min_usd_per_day: float = 25.0
    #: Weight of a new period in its hour-of-week mean (12 periods an hour a week:
    #: 0.05 remembers about two weeks).
    learn_rate: float = 0.05
    #: Weight of a new squared residual in a window's spread.
    spread_rate: float = 0.005
    #: Periods seen before a stream may alert: two weeks, every hour of the week twice.
    warm_steps: int = 2 * 7 * STEPS_PER_DAY
    #: Periods the hour window must stay near normal before an incident resolves.
    resolve_steps: int = 12
    max_open_days: float = 7.0


@dataclass(frozen=True)
class Signal:
    """One stream's incident changing: open, update (every hour while open) or resolve."""

    stream: int
    action: str
    step: int
    start_step: int
    actual: float
    expected: float
    excess_usage: float
    excess_usd: float
    run_rate_usd_per_day: float
    #: The hour window's alert threshold (in usage units) at this period.
    upper: float = 0.0


class UsageDetector:
    """Hour-of-week normals and open incidents of ``n`` streams (see the module docstring)."""

    def __init__(self, n: int, config: UsageDetectorConfig | None = None) -> None:
        self.config = cfg = config or UsageDetectorConfig()
        self.n = n
        self.mean = np.zeros((n, HOURS_PER_WEEK))
        self.count = np.zeros((n, HOURS_PER_WEEK), dtype=np.int32)
        depth = max(cfg.windows)
        self.actual = np.zeros((n, depth))
        self.expected = np.zeros((n, depth))
        self.spread = np.full((n, len(cfg.windows)), 0.04)  # variance of relative residuals
        self.seen = np.zeros(n, dtype=np.int64)
        self.open = np.zeros(n, dtype=bool)
        self.start_step = np.zeros(n, dtype=np.int64)
        self.opened_step = np.zeros(n, dtype=np.int64)
        self.calm = np.zeros(n, dtype=np.int32)
        self.excess = np.zeros(n)  # usage above expected since the incident started
        self.excess_usd = np.zeros(n)
        self.last_expected = np.zeros(n)

    @staticmethod
    def slot(step: int) -> int:
        """Hour of the week (Monday 00:00 UTC = 0) of a 5-minute step since the epoch."""
        return (step // STEPS_PER_HOUR + EPOCH_HOUR_OF_WEEK) % HOURS_PER_WEEK

    def observe(self, step: int, usage: np.ndarray, rate: np.ndarray) -> list[Signal]:
        """Judge and learn one period of every stream (NaN usage: no datapoint)."""
        cfg = self.config
        h = self.slot(step)
        have = ~np.isnan(usage)
        x = np.where(have, usage, 0.0)
        m = self.mean[:, h]
        e = np.where(self.count[:, h] > 0, m, x)
        self.actual = np.roll(self.actual, -1, axis=1)
        self.expected = np.roll(self.expected, -1, axis=1)
        # A missing datapoint counts as expected: no evidence either way.
        self.actual[:, -1] = np.where(have, x, e)
        self.expected[:, -1] = e
        self.last_expected = e
        sigma = np.sqrt(self.spread)
        ratios = np.empty((self.n, len(cfg.windows)))
        trigger = np.zeros(self.n, dtype=bool)
        first = np.full(self.n, step, dtype=np.int64)
        warm = (self.seen >= cfg.warm_steps) & (self.count[:, h] >= 2)
        day_usage = self.mean.sum(axis=1) * STEPS_PER_HOUR / 7
        for j, w in enumerate(cfg.windows):
            a = self.actual[:, -w:].sum(axis=1)
            ex = self.expected[:, -w:].sum(axis=1)
            r = np.where(ex > 0, a / np.where(ex > 0, ex, 1.0) - 1.0, 0.0)
            ratios[:, j] = r
            # The excess as a share of expected, times a typical day's usage: the
            # daily excess a CUR detector would see if the ratio held all day (not the
            # period's excess times 288, which would undercount night-time runaways).
            run_rate = r * day_usage * rate
            hit = (
                warm
                & (ex > 0)
                & (r > np.maximum(cfg.k_sigma[j] * sigma[:, j], cfg.min_ratio))
                & (run_rate >= cfg.min_usd_per_day)
            )
            first = np.where(hit & ~trigger, step - w + 1, first)
            trigger |= hit
        out: list[Signal] = []
        # Incidents in progress collect this period's excess.
        dx = np.where(have, x - e, 0.0)
        self.excess = np.where(self.open, self.excess + dx, self.excess)
        self.excess_usd = np.where(self.open, self.excess_usd + dx * rate, self.excess_usd)
        for i in np.nonzero(trigger & ~self.open & have)[0]:
            w0 = step - int(first[i]) + 1
            back = float((self.actual[i, -w0:] - self.expected[i, -w0:]).sum())
            self.open[i] = True
            self.start_step[i] = first[i]
            self.opened_step[i] = step
            self.calm[i] = 0
            self.excess[i] = back
            self.excess_usd[i] = back * rate[i]
            out.append(self._signal(i, "open", step, rate))
        hour_j = len(cfg.windows) - 1
        near = ratios[:, hour_j] < 0.5 * np.maximum(
            cfg.k_sigma[hour_j] * sigma[:, hour_j], cfg.min_ratio
        )
        self.calm = np.where(self.open & near, self.calm + 1, 0)
        for i in np.nonzero(self.open)[0]:
            if self.opened_step[i] == step:
                continue
            if self.calm[i] >= cfg.resolve_steps:
                out.append(self._signal(i, "resolve", step, rate))
                self.open[i] = False
            elif (step - self.start_step[i]) % STEPS_PER_HOUR == 0:
                out.append(self._signal(i, "update", step, rate))
        stale = self.open & (step - self.opened_step > cfg.max_open_days * STEPS_PER_DAY)
        learn = have & (~self.open | stale)
        # Residuals teach the spread only outside incidents, clipped.
        res = np.clip(ratios, -MAX_RESIDUAL, MAX_RESIDUAL) ** 2
        upd = learn & (self.expected[:, 0] > 0) & (self.seen >= max(cfg.windows))
        self.spread[upd] += cfg.spread_rate * (res[upd] - self.spread[upd])
        c = self.count[:, h]
        alpha = np.maximum(cfg.learn_rate, 1.0 / (c + 1))
        self.mean[:, h] = np.where(learn, m + alpha * (x - m), m)
        self.count[:, h] = np.where(learn, c + 1, c)
        self.seen += have
        return out

    def _signal(self, i: int, action: str, step: int, rate: np.ndarray) -> Signal:
        cfg = self.config
        w = cfg.windows[-1]
        band = max(cfg.k_sigma[-1] * float(np.sqrt(self.spread[i, -1])), cfg.min_ratio)
        a = float(self.actual[i, -w:].sum())
        ex = float(self.expected[i, -w:].sum())
        return Signal(
            int(i),
            action,
            step,
            int(self.start_step[i]),
            a,
            ex,
            float(self.excess[i]),
            float(self.excess_usd[i]),
            float(
                (a / ex - 1.0 if ex > 0 else 0.0)
                * self.mean[i].sum()
                * STEPS_PER_HOUR
                / 7
                * rate[i]
            ),
            ex * (1.0 + band),
        )
