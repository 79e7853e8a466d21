from datetime import UTC, datetime

import numpy as np
import pytest

from services.rightsizing.exceptions import BadDatapointError
from services.rightsizing.intake import apply_inventory
from services.rightsizing.sketches import DayRecord, InstanceState
from services.rightsizing.sketches.bulk import add_cpu_day, add_cpu_points
from services.rightsizing.validation import check_datapoint
from shared.events import Ec2Instance, MetricDatapoint

T = datetime(2026, 1, 5, tzinfo=UTC)


def datapoint(metric: str = "CPUUtilization", value: float = 10.0, period: int = 300):
    return MetricDatapoint(
        id="x",
        resource_id="i-1",
        account_id="1",
        region="us-east-1",
        metric=metric,
        timestamp=T,
        value=value,
        period_s=period,
    )


@pytest.mark.parametrize(
    ("dp", "reason"),
    [
        (datapoint(value=float("nan")), "finite"),
        (datapoint(value=float("inf")), "finite"),
        (datapoint(value=-1.0), "negative"),
        (datapoint(value=100.5), "> 100"),
        (datapoint(metric="mem_used_percent", value=250.0), "> 100"),
        (datapoint(period=0), "period_s"),
    ],
)
def test_bad_datapoints_are_rejected_with_a_reason(dp: MetricDatapoint, reason: str) -> None:
    with pytest.raises(BadDatapointError, match=reason):
        check_datapoint(dp)


@pytest.mark.parametrize(
    "dp", [datapoint(value=0.0), datapoint(value=100.0), datapoint(metric="NetworkIn", value=5e9)]
)
def test_good_datapoints_pass(dp: MetricDatapoint) -> None:
    check_datapoint(dp)


def test_a_type_change_restarts_measurements_and_marks_followed_advice() -> None:
    state = InstanceState("i-1", instance_type="m5.2xlarge", recommended_types=["m5.xlarge"])
    state.add(
        "CPUUtilization", "Maximum", np.array([T.timestamp()], dtype=np.int64), np.array([10.0])
    )
    item = Ec2Instance(
        id="e",
        instance_id="i-1",
        account_id="1",
        region="us-east-1",
        instance_type="m5.xlarge",
        state="running",
        observed_at=T,
    )
    apply_inventory(state, item)
    assert state.days == {}
    assert state.rightsized
    stopped = item.model_copy(update={"state": "stopped"})
    apply_inventory(state, stopped)
    assert not state.running


@pytest.mark.parametrize("with_zeros", [True, False])
def test_bulk_day_update_equals_the_streaming_path(with_zeros: bool) -> None:
    rng = np.random.default_rng(5)
    values = rng.uniform(0.01, 100, (4, 288))
    if with_zeros:
        values[1] = 0.0  # an all-zero instance
        values[2, :10] = 0.0
    ts = 20_454 * 86_400 + np.arange(288, dtype=np.int64) * 300
    bulk: list[dict[int, DayRecord]] = [{} for _ in range(4)]
    add_cpu_day(bulk, 20_454, ts, values, 300)
    add_cpu_day(bulk, 20_454, ts, values, 300)  # a second batch merges into the same day
    for i in range(4):
        one = DayRecord()
        one.add_cpu(ts, values[i], 300)
        one.add_cpu(ts, values[i], 300)
        assert bulk[i][20_454] == one


def test_ragged_unsorted_multi_day_points_equal_the_streaming_path() -> None:
    # What the intake hands over: instances interleaved, days mixed, uneven counts.
    rng = np.random.default_rng(6)
    n = 900
    rows = rng.integers(0, 3, n)
    ts = 20_454 * 86_400 + rng.integers(0, 3 * 86_400, n)
    values = rng.uniform(0.0, 100.0, n)
    values[rows == 2] = 0.0  # an instance with only zeros
    periods = np.where(rows == 1, 60, 300)
    bulk: list[dict[int, DayRecord]] = [{} for _ in range(3)]
    add_cpu_points(bulk, rows, ts, values, periods)
    for i in range(3):
        mine = rows == i
        streaming = InstanceState(f"i-{i}")
        streaming.add("CPUUtilization", "Maximum", ts[mine], values[mine], 60 if i == 1 else 300)
        assert bulk[i] == streaming.days
