from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.ingestor.accounts import parse_accounts
from services.ingestor.cloudwatch import plan
from services.ingestor.inventory.changes import diff

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_calls_hold_at_most_500_queries_and_skip_up_to_date_streams() -> None:
    streams = [
        s
        for i in range(120)
        for s in plan.streams_for("1", "r", f"i-{i}", (("InstanceId", f"i-{i}"),))
    ]
    assert len(streams) == 120 * 6
    starts = [T0] * (len(streams) - 1) + [T0 + timedelta(hours=1)]
    calls = list(plan.plan_calls(streams, starts, T0 + timedelta(hours=1)))
    assert [len(c.streams) for c in calls] == [500, 219]
    queries = [plan.query(i, s, 300) for i, s in enumerate(calls[0].streams)]
    assert len({q["Id"] for q in queries}) == 500
    assert all(q["Id"][0].islower() for q in queries)


def test_consecutive_windows_have_no_gap_and_no_overlap() -> None:
    lag = timedelta(minutes=10)
    ends = [plan.closed_end(T0 + timedelta(minutes=m), lag, 300) for m in (17, 23, 31, 31, 48)]
    periods = [T0 + timedelta(minutes=5 * k) for k in range(-12, 12)]
    covered = []
    mark = T0 - timedelta(hours=1)
    for end in ends:
        covered += [p for p in periods if plan.in_window(p, mark, end)]
        mark = max(mark, end)
    assert covered == sorted(set(covered))
    assert covered == [p for p in periods if p < ends[-1]]


def test_inventory_publishes_changes_only_and_tombstones_the_vanished() -> None:
    def inst(iid: str, itype: str = "m5.large") -> dict:
        return {
            "instance_id": iid,
            "account_id": "1",
            "region": "r",
            "instance_type": itype,
            "state": "running",
            "platform": "Linux/UNIX",
            "architecture": "x86_64",
            "launch_time": None,
            "tags": {},
        }

    first = diff({}, [inst("i-1"), inst("i-2")], ["1/r/"])
    assert len(first.changed) == 2
    assert first.deleted == []
    second = diff(first.state, [inst("i-1"), inst("i-3", "t3.micro")], ["1/r/"])
    assert [c["instance_id"] for c in second.changed] == ["i-3"]
    assert second.deleted[0]["instance_id"] == "i-2"
    assert second.deleted[0]["deleted"]
    assert second.deleted[0]["instance_type"] == "m5.large"
    other_scope = diff(first.state, [], ["2/r/"])
    assert other_scope.deleted == []


def test_accounts_from_json() -> None:
    accounts = parse_accounts(
        '{"1": {"role_arn": "arn:aws:iam::1:role/x"}, "2": {"regions": ["a", "b"]}}', "us-east-1"
    )
    assert [(a.account_id, a.regions, a.role_arn) for a in accounts] == [
        ("1", ("us-east-1",), "arn:aws:iam::1:role/x"),
        ("2", ("a", "b"), None),
    ]


class ThrottledThenOk:
    """A CloudWatch client stand-in: throttles twice, then serves two NextToken pages."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def get_metric_data(self, **kwargs):
        from botocore.exceptions import ClientError

        self.calls.append(kwargs)
        if len(self.calls) <= 2:
            raise ClientError(
                {"Error": {"Code": "Throttling", "Message": "slow down"}}, "GetMetricData"
            )
        t = T0 + timedelta(minutes=5 * len(self.calls))
        page = {"MetricDataResults": [{"Id": "q0", "Timestamps": [t], "Values": [1.0]}]}
        if "NextToken" not in kwargs:
            page["NextToken"] = "more"
        return page


def test_throttling_is_retried_and_pages_are_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    from tenacity import wait_none

    from services.ingestor.cloudwatch import poller

    client = ThrottledThenOk()
    call = plan.Call(tuple(plan.streams_for("1", "r", "i-1")[:1]), (T0,), T0 + timedelta(hours=1))
    # the same retry policy without real sleeping in a unit test
    monkeypatch.setattr(poller, "_get_page", poller._get_page.retry_with(wait=wait_none()))
    points = poller.fetch(client, call, 300)
    assert len(client.calls) == 4
    assert client.calls[-1]["NextToken"] == "more"
    assert len(points[0]) == 2
    assert len(client.calls[0]["MetricDataQueries"]) == 1
