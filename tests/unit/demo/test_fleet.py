"""The demo's view of right-sizing across the fleet: when it is done, what it shows."""

from __future__ import annotations

from typing import Any

from demo.results import Fleet, top_savings


def _rec(rid: str, finding: str, savings: float, schedule: float | None = None) -> dict[str, Any]:
    return {
        "id": f"{rid}-{finding}",
        "resource_id": rid,
        "finding": finding,
        "estimated_monthly_savings": savings,
        "schedule": None if schedule is None else {"monthly_savings": schedule},
    }


FLEET = frozenset({"i-1", "i-2", "i-3", "i-4"})


def test_the_fleet_is_done_only_when_every_instance_rests_on_datapoints() -> None:
    early = Fleet(FLEET, [_rec("i-1", "overprovisioned", 50), _rec("i-2", "insufficient_data", 0)])
    assert not early.done
    assert early.progress() == "right-sizing 1/4 instances (1 overprovisioned)"
    late = Fleet(
        FLEET,
        [
            _rec("i-1", "overprovisioned", 50),
            _rec("i-2", "idle", 30),
            _rec("i-3", "optimized", 12, schedule=12),
            _rec("i-4", "optimized", 0),
            _rec("i-9", "idle", 99),  # not this fleet's
        ],
    )
    assert late.done
    assert late.rows() == [
        ("overprovisioned", 1, 50.0), ("idle", 1, 30.0), ("schedulable", 1, 12.0),
        ("optimized", 2, 12.0),
    ]  # fmt: skip
    assert late.fingerprint != early.fingerprint


def test_top_savings_keep_the_best_of_each_kind() -> None:
    recs = [_rec(f"r-{n}", "overprovisioned", 100 + n) for n in range(10)]
    recs += [_rec("idle", "idle", 5), _rec("sched", "optimized", 3, schedule=3)]
    fleet = Fleet(frozenset(r["resource_id"] for r in recs), recs)
    shown = [r["resource_id"] for r in top_savings(fleet, 4)]
    assert shown == ["r-9", "r-8", "idle", "sched"]
