"""State codec benchmark: the data-only changelog codec against pickle, same state, same run.

The anomaly service snapshots every changed stream's state at each checkpoint.
It used to pickle it (fast, but a record on the topic could run code); it now
writes MessagePack through an allow-list (``shared/state_codec.py``). This
prints what that costs for the largest state the metric loop keeps: one
stream 30 days (8640 five-minute points) into its detector's rolling window.
It also prints the delta a checkpoint writes after one more point
(``StateCodec.encode_delta``: the small fields and the window's new value).

Run: ``make bench-state-codec``.
"""

from __future__ import annotations

import pickle
import timeit
from datetime import UTC, datetime, timedelta

import numpy as np

from services.anomaly.metric import MetricDetector, MetricDetectorConfig
from services.anomaly.metric.tracker import MetricTracker
from services.anomaly.settings import AnomalySettings
from services.anomaly.state_codec import metric_state_codec

POINTS = 8640  # 30 days of 5-minute points: the detector's long window is full
REPEATS = 200


def main() -> None:
    """Build one full stream state, time encode/decode against pickle, print ratios."""
    detector = MetricDetector(MetricDetectorConfig())
    codec = metric_state_codec(detector)
    tracker = MetricTracker(
        "i-1|CPUUtilization|Average", detector, AnomalySettings().metric_config().stream
    )
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    for i, value in enumerate(20 + np.random.default_rng(0).normal(0, 1, POINTS)):
        tracker.observe(t0 + timedelta(minutes=5 * i), float(value))
    data, pickled = codec.encode(tracker), pickle.dumps(tracker, pickle.HIGHEST_PROTOCOL)

    def best(fn: object) -> float:
        return min(timeit.repeat(fn, number=REPEATS // 10, repeat=10)) / (REPEATS // 10)  # type: ignore[arg-type]

    encode, decode = best(lambda: codec.encode(tracker)), best(lambda: codec.decode(data))
    dump, load = best(lambda: pickle.dumps(tracker, 5)), best(lambda: pickle.loads(pickled))
    print(f"one stream, {POINTS} points: codec {len(data):,} B, pickle {len(pickled):,} B")
    print(f"encode: {encode * 1e3:.2f} ms = {encode / dump:.1f}x pickle.dumps")
    print(f"decode: {decode * 1e3:.2f} ms = {decode / load:.1f}x pickle.loads")
    # A delta on that base after one more point: what a checkpoint writes instead.
    _base, marks = codec.encode_base(tracker)
    tracker.observe(t0 + timedelta(minutes=5 * POINTS), 20.0)
    delta = codec.encode_delta(tracker, marks)
    assert delta is not None
    encode_delta = best(lambda: codec.encode_delta(tracker, marks))
    print(
        f"delta after one more point: {len(delta):,} B ({len(data) / len(delta):.0f}x smaller), "
        f"{encode_delta * 1e3:.3f} ms to encode"
    )


if __name__ == "__main__":
    main()
