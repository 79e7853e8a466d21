"""Root cause as contributions: which parts moved the total, and by how much.

For a deviating parent, each child's contribution is ``actual - expected`` for
that child; the drivers are the children that moved in the parent's direction,
and each driver's share is its contribution over the drivers' sum, so shares of
drivers add up to 1. Children without a model of their own (regions,
resources) use a trailing mean as their expected value.

>>> ranked = rank_contributions("usage_type", {"A": (150.0, 50.0), "B": (60.0, 50.0)})
>>> [(c.value, round(c.share, 2)) for c in ranked]
[('A', 0.91), ('B', 0.09)]
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.events.anomalies import RootCause

# Rank at most this many contributors per dimension: a person reads the top few,
# and the event stays small.
MAX_CONTRIBUTORS = 5


def rank_contributions(
    dimension: str,
    children: Mapping[str, tuple[float, float]],
    direction: int = 1,
    limit: int = MAX_CONTRIBUTORS,
) -> list[RootCause]:
    """Rank ``children`` (value -> (actual, expected)) by contribution in ``direction``."""
    rows = [
        (name, actual, expected, actual - expected)
        for name, (actual, expected) in children.items()
        if (actual - expected) * direction > 0
    ]
    total = sum(abs(c) for *_, c in rows)
    if total <= 0:
        return []
    rows.sort(key=lambda r: abs(r[3]), reverse=True)
    return [
        RootCause(
            dimension=dimension,  # type: ignore[arg-type]  # validated by pydantic
            value=name,
            actual=round(actual, 6),
            expected=round(expected, 6),
            contribution=round(contribution, 6),
            share=round(abs(contribution) / total, 6),
        )
        for name, actual, expected, contribution in rows[:limit]
    ]


def trailing_expected(
    history: list[Mapping[str, float]], today: Mapping[str, float]
) -> dict[str, tuple[float, float]]:
    """(actual, expected) per key, expected being the mean over ``history`` days."""
    keys = set(today)
    for day in history:
        keys.update(day)
    n = max(1, len(history))
    return {
        key: (today.get(key, 0.0), sum(day.get(key, 0.0) for day in history) / n) for key in keys
    }
