"""Expand daily series costs into CUR line items (per resource; daily or hourly grain).

A series' cost for a day is split over its resources by fixed weights, except the
anomalous extra, which goes entirely to the culprit resource (so a root-cause search
down to resource level finds it). Hourly grain spreads each day by the series' hour
weights. Chunks are built day by day with numpy and never exceed ``max_rows`` rows,
so writers stream any size of organisation in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from simulator.deliveries import Delivery
from simulator.exceptions import WriterError
from simulator.line_layout import LineLayout

if TYPE_CHECKING:
    from simulator.organisation import SimulatedOrg

GRAINS = ("daily", "hourly")
#: Rows per chunk handed to a file writer: ~100 MB of Arrow strings at most.
DEFAULT_CHUNK_ROWS = 250_000
#: Line-item costs carry 10 decimals, like real CUR files.
COST_DECIMALS = 10


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection on uint64 that scatters nearby ids."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    mixed: np.ndarray = x ^ (x >> np.uint64(31))
    return mixed


def _day_costs(org: SimulatedOrg, delivery: Delivery, d: int) -> tuple[np.ndarray, np.ndarray]:
    costs = org.costs[:, d].copy()
    extra = org.extra[:, d].copy()
    for (s, day), value in delivery.overrides.items():
        if day == d:
            costs[s], extra[s] = value, 0.0
    return costs, extra


def _hourly(
    org: SimulatedOrg,
    delivery: Delivery,
    d: int,
    series: np.ndarray,
    base: np.ndarray,
    anomalous: np.ndarray,
) -> np.ndarray:
    """(lines x 24) cost per hour of day ``d`` as ``delivery`` shows it."""
    base_w, extra_w = org.hour_split(d)
    if base_w is extra_w:  # no anomaly starts today: one product, as before intra-day timing
        hourly = (base + anomalous)[:, None] * base_w[series]
    else:
        hourly = base[:, None] * base_w[series] + anomalous[:, None] * extra_w[series]
    if delivery.through is not None:
        hourly = hourly * delivery.hour_factors(d)
    return hourly


def iter_line_chunks(
    org: SimulatedOrg,
    delivery: Delivery,
    grain: str = "daily",
    max_rows: int = DEFAULT_CHUNK_ROWS,
    layout: LineLayout | None = None,
) -> Iterator[pd.DataFrame]:
    """Canonical line-item frames of one delivery in day order, at most ``max_rows`` each.

    Days are accumulated as numpy arrays until ``max_rows`` is reached, so a chunk may
    hold several days (daily grain) or part of one (hourly grain, big fleets).
    """
    if grain not in GRAINS:
        raise WriterError(f"grain {grain!r}: use one of {GRAINS}")
    lay = layout or LineLayout.of(org)
    n_lines = len(lay.series)
    pending: list[tuple[np.ndarray, ...]] = []
    count = 0
    for d in delivery.days:
        costs, extra = _day_costs(org, delivery, d)
        s = lay.series
        base = (costs[s] - extra[s]) * lay.weight
        anomalous = extra[s] * lay.culprit
        if not delivery.month_charges:
            base = np.where(lay.one_shot[s], 0.0, base)
        if grain == "hourly":
            pos = np.repeat(np.arange(n_lines), 24)
            hour = np.tile(np.arange(24), n_lines)
            cost = _hourly(org, delivery, d, s, base, anomalous).ravel()
        else:
            whole = delivery.through is None or delivery.through >= (d + 1) * 24
            if whole and not delivery.unsettled:
                daily = base + anomalous
            else:
                daily = _hourly(org, delivery, d, s, base, anomalous).sum(axis=1)
            pos, hour, cost = np.arange(n_lines), np.zeros(n_lines, dtype=int), daily
        cost = np.round(cost, COST_DECIMALS)
        keep = cost != 0
        pending.append((pos[keep], np.full(int(keep.sum()), d), hour[keep], cost[keep]))
        count += int(keep.sum())
        if count >= max_rows:
            yield from _flush(org, lay, delivery, grain, pending, max_rows)
            pending, count = [], 0
    if pending:
        yield from _flush(org, lay, delivery, grain, pending, max_rows)


def _flush(
    org: SimulatedOrg,
    lay: LineLayout,
    delivery: Delivery,
    grain: str,
    pending: list[tuple[np.ndarray, ...]],
    max_rows: int,
) -> Iterator[pd.DataFrame]:
    pos, day, hour, cost = (np.concatenate(parts) for parts in zip(*pending, strict=True))
    for lo in range(0, len(pos), max_rows):
        sl = slice(lo, lo + max_rows)
        yield _frame(org, lay, delivery, grain, pos[sl], day[sl], hour[sl], cost[sl])


def _frame(
    org: SimulatedOrg,
    lay: LineLayout,
    delivery: Delivery,
    grain: str,
    pos: np.ndarray,
    day: np.ndarray,
    hour: np.ndarray,
    cost: np.ndarray,
) -> pd.DataFrame:
    ss = lay.series[pos]
    day0 = np.datetime64(org.dates[0], "h")
    start = day0 + (day * 24 + hour).astype("timedelta64[h]")
    step = np.timedelta64(1 if grain == "hourly" else 24, "h")
    period_end = np.datetime64(delivery.period_end, "h")
    end = np.where(lay.one_shot[ss], period_end, start + step)
    rate = lay.unit_rate[ss]
    amount = np.where(rate > 0, cost / np.where(rate > 0, rate, 1.0), 1.0)
    # Bits 40+: series, 16-39: line within the layout, 0-15: hour of the window; then
    # mixed (splitmix64 finaliser, a bijection) so ids look random, as AWS's do.
    ids = (
        (ss.astype(np.uint64) << np.uint64(40))
        | (pos.astype(np.uint64) << np.uint64(16))
        | (day * 24 + hour).astype(np.uint64)
    )
    ids = _mix(ids ^ np.uint64(org.config.seed & 0xFFFF_FFFF))
    return pd.DataFrame(
        {
            "line": pos,
            "series": ss,
            "line_item_id": ids,
            "usage_start": start.astype("datetime64[ns]"),
            "usage_end": end.astype("datetime64[ns]"),
            **{f: factor.take(ss) for f, factor in lay.series_attrs.items()},
            **{f: factor.take(pos) for f, factor in lay.line_attrs.items()},
            "cost": cost,
            "usage_amount": np.round(amount, 8),
            "rate": rate,
        }
    )


def series_hours(org: SimulatedOrg, delivery: Delivery, d: int) -> np.ndarray:
    """(series x 24) usage cost per hour of day index ``d`` as ``delivery`` shows it.

    The sum of that day's line items per series (evaluations replay deliveries at
    series level without writing files).
    """
    costs, extra = _day_costs(org, delivery, d)
    return _hourly(org, delivery, d, np.arange(len(org.series)), costs - extra, extra)
