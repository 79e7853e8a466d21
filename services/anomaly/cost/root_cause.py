"""Root cause of a cost incident: child series, usage types, regions, resources."""

from __future__ import annotations

from collections.abc import Mapping

from services.anomaly.cost.contributions import rank_contributions, trailing_expected
from services.anomaly.cost.hierarchy import SeriesInfo
from services.anomaly.cost.seasonal import CostVerdict
from shared.events.anomalies import RootCause
from shared.events.costs import series_tag

LeafDims = Mapping[str, Mapping[str, Mapping[str, float]]]  # leaf sid -> dim -> key -> cost


# A child is a driver when it moved by at least half its own band (two robust
# standard deviations with the default k=4): smaller moves are its usual noise,
# and counting the noise of dozens of children would dilute every share.
DRIVER_BAND_FRACTION = 0.5


def _moved(verdict: CostVerdict) -> bool:
    if verdict.warming_up or verdict.upper == float("inf"):
        return verdict.actual > verdict.expected
    return verdict.actual - verdict.expected >= DRIVER_BAND_FRACTION * (
        verdict.upper - verdict.expected
    )


def _descendants(sid: str, series: Mapping[str, SeriesInfo]) -> list[str]:
    return [s for s in series if s.startswith(sid + "/")]


def explain(
    cause: str,
    members: set[str],
    verdicts: Mapping[str, CostVerdict],
    series: Mapping[str, SeriesInfo],
    dims_today: LeafDims,
    dims_history: list[LeafDims],
) -> list[RootCause]:
    """Ranked contributors at every dimension under the group's top series.

    Child series and usage types use their own detectors' expected values;
    regions and resources (no detector each) use the trailing daily mean.
    """
    top = min(members | {cause}, key=lambda s: s.count("/"))
    if top in series and series[top].level == "tag":
        return explain_tag(top, verdicts[top], dims_today, dims_history)
    out: list[RootCause] = []
    kids = [s for s, info in series.items() if info.parent == top]
    out += rank_contributions(
        "series",
        {
            k: (verdicts[k].actual, verdicts[k].expected)
            for k in kids
            if k in verdicts and _moved(verdicts[k])
        },
    )
    leaves = [s for s in _descendants(top, series) if series[s].level == "usage_type"]
    if series.get(top) is not None and series[top].level == "usage_type":
        leaves = [top]
    usage: dict[str, tuple[float, float]] = {}
    for leaf in leaves:
        if leaf in verdicts and _moved(verdicts[leaf]):
            name = series[leaf].usage_type or leaf
            a, e = usage.get(name, (0.0, 0.0))
            usage[name] = (a + verdicts[leaf].actual, e + verdicts[leaf].expected)
    out += rank_contributions("usage_type", usage)
    cause_leaves = [s for s in leaves if s == cause or s.startswith(cause + "/")] or leaves
    for dim in ("region", "resource"):
        today = _sum_dim(dims_today, cause_leaves, dim)
        history = [_sum_dim(day, cause_leaves, dim) for day in dims_history]
        if today:
            out += rank_contributions(dim, trailing_expected(history, today))
    return out


def explain_tag(
    sid: str, verdict: CostVerdict, dims_today: LeafDims, dims_history: list[LeafDims]
) -> list[RootCause]:
    """The tag value itself first, then its services, usage types and resources.

    Within the tag series they have no detectors, so the trailing daily mean of
    the same tag series' breakdown is their expected value.
    """
    key, value = series_tag(sid) or (sid, "")
    excess = verdict.actual - verdict.expected
    out = [
        RootCause(
            dimension="tag",
            value=f"{key}={value}",
            actual=round(verdict.actual, 6),
            expected=round(verdict.expected, 6),
            contribution=round(excess, 6),
            share=1.0,
        )
    ]
    for dim in ("service", "usage_type", "resource"):
        today = dims_today.get(sid, {}).get(dim, {})
        history: list[Mapping[str, float]] = [day.get(sid, {}).get(dim, {}) for day in dims_history]
        if today:
            out += rank_contributions(
                dim, trailing_expected(history, today), 1 if excess >= 0 else -1
            )
    return out


def _sum_dim(dims: LeafDims, leaves: list[str], dim: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for leaf in leaves:
        for key, cost in dims.get(leaf, {}).get(dim, {}).items():
            totals[key] = totals.get(key, 0.0) + cost
    return totals
