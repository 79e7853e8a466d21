"""One incident per cause: group flagged series of one day by what explains them.

Starting from each flagged series, walk down to the child with the largest
excess while that child explains at least ``share`` of its parent's excess; the
series where the walk stops is the cause. Flagged series with the same cause,
or whose causes lie on one line of descent, form one group keyed by the most
specific cause, so a spike in one usage type does not also open incidents for
its service and account.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.anomaly.cost.hierarchy import SeriesInfo
from services.anomaly.cost.seasonal import CostVerdict


def _excess(verdict: CostVerdict | None) -> float:
    return verdict.actual - verdict.expected if verdict else 0.0


def children_of(series: Mapping[str, SeriesInfo]) -> dict[str, list[str]]:
    """Parent series id -> child series ids."""
    out: dict[str, list[str]] = {}
    for sid, info in series.items():
        if info.parent is not None:
            out.setdefault(info.parent, []).append(sid)
    return out


def descend(
    sid: str,
    verdicts: Mapping[str, CostVerdict],
    children: Mapping[str, list[str]],
    share: float,
) -> str:
    """The most specific series that explains ``share`` of ``sid``'s excess."""
    node = sid
    while True:
        excess = _excess(verdicts.get(node))
        kids = children.get(node, [])
        if excess <= 0 or not kids:
            return node
        best = max(kids, key=lambda k: _excess(verdicts.get(k)))
        if _excess(verdicts.get(best)) < share * excess:
            return node
        node = best


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def group_flagged(
    flagged: set[str],
    verdicts: Mapping[str, CostVerdict],
    series: Mapping[str, SeriesInfo],
    share: float,
) -> dict[str, set[str]]:
    """Cause series id -> the flagged series (and path ancestors) it explains."""
    children = children_of(series)
    groups: dict[str, set[str]] = {}
    # Deepest causes first, so an ancestor's group folds into its descendant's.
    causes = sorted(
        ((descend(sid, verdicts, children, share), sid) for sid in flagged),
        key=lambda cs: -cs[0].count("/"),
    )
    for cause, sid in causes:
        home = next((c for c in groups if _related(c, cause)), cause)
        members = groups.setdefault(home, set())
        members.add(sid)
        if cause != home:
            members.add(cause)
    for cause, members in groups.items():
        members.discard(cause)
        for sid in list(members):
            # Name the path between a flagged ancestor and the cause too.
            node = series[cause].parent if cause in series else None
            while node is not None and sid != cause and _related(node, sid):
                members.add(node)
                node = series[node].parent
    return groups
