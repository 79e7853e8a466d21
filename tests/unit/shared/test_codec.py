"""Codec: headers, round trips, and clear reasons for what cannot be decoded."""

from datetime import UTC, date, datetime

import pytest

from shared.codec import DecodeError, Encoded, decode, encode, header
from shared.events import CostLineItem, Forecast, MetricDatapoint
from shared.events.forecasts import ForecastPoint

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _datapoint() -> MetricDatapoint:
    return MetricDatapoint(
        id="dp-1",
        resource_id="i-1",
        account_id="111122223333",
        region="us-east-1",
        metric="CPUUtilization",
        stat="Maximum",
        timestamp=NOW,
        value=42.5,
    )


def test_encode_sets_cloudevents_headers() -> None:
    value, headers = encode(_datapoint(), "ingestor")
    assert header(headers, "ce_type") == "spendstream.cloudwatch.datapoint.v1"
    assert header(headers, "ce_id") == "dp-1"
    assert header(headers, "ce_source") == "ingestor"
    assert header(headers, "ce_time") is not None
    assert decode(value, headers) == _datapoint()


def test_a_pre_encoded_event_sends_the_same_record() -> None:
    pre = Encoded.of(_datapoint())
    value, headers = encode(pre, "ingestor")
    direct_value, direct_headers = encode(_datapoint(), "ingestor")
    assert value == direct_value
    assert [k for k, _ in headers] == [k for k, _ in direct_headers]
    assert header(headers, "ce_type") == header(direct_headers, "ce_type")
    assert decode(value, headers) == pre.decode() == _datapoint()


def test_int_keyed_dicts_round_trip() -> None:
    point = ForecastPoint(date=date(2026, 11, 2), yhat=1, lo80=0.5, hi80=1.5, lo95=0.2, hi95=2)
    forecast = Forecast(
        id="f",
        series_id="daily/1",
        account_id="1",
        status="ok",
        history_days=90,
        horizons={7: [point]},
        generated_at=NOW,
    )
    value, headers = encode(forecast, "forecast")
    assert decode(value, headers) == forecast


@pytest.mark.parametrize(
    ("value", "headers", "reason"),
    [
        (None, [("ce_type", b"spendstream.cloudwatch.datapoint.v1")], "no value"),
        (b"{}", [], "missing ce_type"),
        (b"{}", [("ce_type", b"nope.v9")], "unknown event type"),
        (b"{not json", [("ce_type", b"spendstream.cloudwatch.datapoint.v1")], "invalid"),
        (b'{"id": "x"}', [("ce_type", b"spendstream.cloudwatch.datapoint.v1")], "resource_id"),
    ],
)
def test_decode_errors_say_why(
    value: bytes | None, headers: list[tuple[str, bytes]], reason: str
) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode(value, headers)


def test_decode_rejects_event_for_another_topic() -> None:
    value, headers = encode(_datapoint(), "ingestor")
    with pytest.raises(DecodeError, match="does not belong"):
        decode(value, headers, allowed=(CostLineItem,))
