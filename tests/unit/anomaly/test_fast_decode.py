import pytest

from services.anomaly.metric.fast_decode import fast_datapoint
from shared.codec import DecodeError, decode, encode
from shared.events import MetricDatapoint
from tests.unit.anomaly.test_metric_tracker import T0


def test_fast_path_agrees_with_the_full_validator() -> None:
    point = MetricDatapoint(
        id="1",
        resource_id="i-1",
        account_id="1",
        region="r",
        metric="CPUUtilization",
        timestamp=T0,
        value=42.5,
        stat="Maximum",
        period_s=60,
    )
    body, headers = encode(point, "test")
    fast = fast_datapoint(body)
    full = decode(body, headers, (MetricDatapoint,))
    assert fast is not None
    assert isinstance(full, MetricDatapoint)
    for field in ("resource_id", "account_id", "metric", "stat", "timestamp", "value", "period_s"):
        assert getattr(fast, field) == getattr(full, field)


NAIVE = b'{"id":"1","resource_id":"i","account_id":"1","region":"r","metric":"m",' + (
    b'"timestamp":"2024-01-01T00:00:00","value":1}'
)
TEXT_VALUE = NAIVE.replace(b'00:00:00"', b'00:00:00Z"').replace(b'"value":1', b'"value":"1"')
NULL_NAMESPACE = NAIVE.replace(b'00:00:00"', b'00:00:00Z"').replace(
    b'"value":1', b'"value":1,"namespace":null'
)
EXTRA_KEY = NAIVE.replace(b'00:00:00"', b'00:00:00Z"').replace(b'"value":1', b'"value":1,"x":1')


@pytest.mark.parametrize("body", [NAIVE, TEXT_VALUE, NULL_NAMESPACE, EXTRA_KEY, b"not json"])
def test_anything_unusual_is_left_to_the_full_validator(body: bytes) -> None:
    assert fast_datapoint(body) is None


@pytest.mark.parametrize("body", [NULL_NAMESPACE, EXTRA_KEY, b"not json"])
def test_the_full_validator_rejects_what_is_invalid(body: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(body, [("ce_type", MetricDatapoint.ce_type().encode())], (MetricDatapoint,))
