"""Soak: the whole system at a steady rate for half an hour — flat memory, bounded lag.

What a benchmark of minutes cannot show: state that grows with time (a window
never trimmed, a cache never evicted, a restatement that keeps the old copy)
and a consumer that falls behind slowly. So the demo's system (embedded broker
+ PostgreSQL, anomaly, right-sizing, forecast and gateway as separate
processes) is backfilled with the demo organisation, then fed for
``--minutes`` at ``--rate`` CloudWatch datapoints per second, continuing each
stream's last week in data time (a replay of its own weekly shape with noise),
and every ``--restate-every`` minutes the month-to-date CUR is delivered again
(AWS rewrites it up to three times a day). Every ``--sample-s`` seconds it
records each service's RSS (its whole process group) and every consumer
group's lag.

Verdict, printed and returned as the exit code:
- memory is flat when the least-squares RSS slope over the second half,
  extrapolated over that half, is under ``FLAT_SHARE`` of the service's RSS;
- lag is bounded when the final third's peak is no more than
  ``LAG_GROWTH`` times the middle third's peak (plus one chunk of slack), and the
  groups drain to zero within ``DRAIN_S`` once feeding stops.

Run: ``make soak`` (not part of ``make test``; ``--minutes 3`` for a quick look).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from aiokafka import AIOKafkaConsumer, TopicPartition

from demo.pipeline import Pipeline, Scenario, ingest, running_system, simulate
from devstack.state import KAFKA_ENV
from services.anomaly.settings import AnomalySettings
from services.forecast.settings import ForecastSettings
from services.gateway.settings import GatewaySettings
from services.rightsizing.settings import RightsizingSettings
from shared.file_formats import DATAPOINT_SCHEMA
from shared.topics import TOPICS

MINUTES = 30.0
RATE = 2_000.0
CHUNK_S = 20.0
RESTATE_EVERY_MIN = 10.0
SAMPLE_S = 10.0
# A service's RSS may drift by this share of itself over the second half and still be flat.
FLAT_SHARE = 0.05
LAG_GROWTH = 1.5
DRAIN_S = 300.0
STEP = np.timedelta64(300, "s")
WEEK_STEPS = 7 * 24 * 12
IDENTITY = ("instance_id", "account_id", "region", "namespace", "metric", "stat", "unit")


@dataclass
class Samples:
    """Time series of each service's RSS (MB) and each group's lag (records)."""

    t: list[float] = field(default_factory=list)
    rss: dict[str, list[float]] = field(default_factory=dict)
    lag: dict[str, list[int]] = field(default_factory=dict)


class Streams:
    """Every simulated stream, continued past its last point by replaying its last week."""

    def __init__(self, datapoints: Path, seed: int = 0) -> None:
        table = pq.read_table(datapoints).sort_by(
            [("instance_id", "ascending"), ("timestamp", "ascending")]
        )
        frame = table.to_pandas()
        self.ids: list[tuple[str, ...]] = []
        weeks = []
        for key, group in frame.groupby(list(IDENTITY), dropna=False, sort=True):
            self.ids.append(tuple("" if v is None or v != v else str(v) for v in key))
            values = group["value"].to_numpy(dtype=float)[-WEEK_STEPS:]
            weeks.append(np.resize(values, WEEK_STEPS))
        self.week = np.vstack(weeks)
        self.next_ts = np.datetime64(frame["timestamp"].max().tz_convert(None), "s") + STEP
        self.step = 0
        self.rng = np.random.default_rng(seed)

    def chunk(self, points: int) -> pa.Table:
        """The next ``points`` (rounded to whole steps of every stream) as a datapoints table."""
        steps = max(1, points // len(self.ids))
        idx = (self.step + np.arange(steps)) % WEEK_STEPS
        values = self.week[:, idx] * self.rng.normal(1.0, 0.03, (len(self.ids), steps))
        stamps = self.next_ts + np.arange(steps) * STEP
        self.step += steps
        self.next_ts += steps * STEP
        n = len(self.ids)
        columns: dict[str, pa.Array] = {
            name: pa.array(np.repeat([ident[i] or None for ident in self.ids], steps), pa.string())
            for i, name in enumerate(IDENTITY)
        }
        columns["timestamp"] = pa.array(
            np.tile(stamps, n), pa.timestamp("s", tz="UTC"), from_pandas=True
        )
        columns["value"] = pa.array(np.clip(values, 0.0, None).ravel())
        return pa.table(columns, schema=DATAPOINT_SCHEMA)


def consumer_groups() -> dict[str, tuple[str, ...]]:
    """Each consuming service's groups, from its own settings (the one place that names them)."""
    anomaly = AnomalySettings()
    return {
        "anomaly": (anomaly.anomaly_cost_group_id, anomaly.anomaly_metric_group_id),
        "rightsizing": (RightsizingSettings().rightsizing_group_id,),
        "forecast": (ForecastSettings().forecast_group_id,),
        "gateway": (GatewaySettings().gateway_consumer_group,),
    }


async def consumer_lag(bootstrap: str) -> dict[str, int]:
    """Records each consumer group has yet to commit, over the topics its service reads.

    Committed offsets come from a consumer of the group that never joins it
    (OffsetFetch only); the embedded broker does not answer the admin client's
    OffsetFetch version. Its ListOffsets(latest) answers the last batch's base
    offset + 1, not the high watermark, so a partition's lag reads up to one
    producer batch short (never negative: clamped at 0).
    """
    out = {}
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await probe.start()
    try:
        for service, groups in consumer_groups().items():
            tps = [
                TopicPartition(topic.name, p)
                for topic in TOPICS
                if service in topic.consumers
                for p in range(topic.partitions)
            ]
            ends = await probe.end_offsets(tps)
            for group in groups:
                reader = AIOKafkaConsumer(
                    bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
                )
                await reader.start()
                try:
                    done = {tp: await reader.committed(tp) for tp in tps}
                finally:
                    await reader.stop()
                out[group] = sum(max(0, ends[tp] - at) for tp, at in done.items() if at is not None)
    finally:
        await probe.stop()
    return out


def sample(pipeline: Pipeline, samples: Samples, started: float) -> None:
    """Append one sample of every service's RSS and every group's lag."""
    lags = asyncio.run(consumer_lag(pipeline.env[KAFKA_ENV]))
    samples.t.append(time.monotonic() - started)
    for name, rss in pipeline.supervisor.rss_bytes().items():
        samples.rss.setdefault(name, []).append(rss / 1e6)
    for group, lag in lags.items():
        samples.lag.setdefault(group, []).append(lag)


def memory_verdict(t: list[float], mb: list[float]) -> tuple[float, bool]:
    """(slope in MB/h over the second half, whether that drift is under FLAT_SHARE)."""
    half = len(t) // 2
    xs, ys = np.array(t[half:]), np.array(mb[half:])
    if len(xs) < 3:
        return 0.0, False
    slope = float(np.polyfit(xs, ys, 1)[0])
    drift = slope * (xs[-1] - xs[0])
    return slope * 3600, abs(drift) <= FLAT_SHARE * float(np.median(ys))


def lag_verdict(lags: list[int], slack: int) -> bool:
    """The final third's peak is no higher than LAG_GROWTH times the middle third's, plus slack."""
    third = len(lags) // 3
    if third == 0:
        return False
    return max(lags[2 * third :]) <= LAG_GROWTH * max(lags[third : 2 * third]) + slack


def run(minutes: float, rate: float, restate_every: float, sample_s: float) -> int:
    """Backfill, feed at ``rate`` for ``minutes``, drain, print the verdict; 0 when it holds."""
    state = Path(tempfile.mkdtemp(prefix="spendstream-soak-"))
    with running_system(state) as pipeline:
        simulate(pipeline, Scenario())
        ingest(pipeline)
        streams = Streams(pipeline.data_dir / "cloudwatch.parquet")
        print(f"soak: {len(streams.ids)} streams at {rate:,.0f} points/s for {minutes} min")
        samples, started = Samples(), time.monotonic()
        stop = threading.Event()

        failed: list[BaseException] = []

        def sampler() -> None:
            try:
                while not stop.wait(sample_s):
                    sample(pipeline, samples, started)
            except Exception as exc:  # surfaced by the feed loop: a soak without samples is void
                failed.append(exc)

        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        sent, chunk_no, next_restate = 0, 0, started + restate_every * 60
        cur_argv = ["ingest", "cur", "--source", str(pipeline.data_dir / "cur"), "--force"]
        restating: threading.Thread | None = None
        while time.monotonic() - started < minutes * 60:
            due = started + chunk_no * CHUNK_S
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)  # pacing the feed, not waiting on a condition
            table = streams.chunk(int(rate * CHUNK_S))
            path = pipeline.data_dir / "soak-chunk.parquet"
            pq.write_table(table, path)
            pipeline.cli("ingest", "file-datapoints", str(path))
            sent += table.num_rows
            chunk_no += 1
            pipeline.check_alive()
            if failed:
                raise RuntimeError("sampling failed; the soak has no verdict") from failed[0]
            if time.monotonic() >= next_restate and not (restating and restating.is_alive()):
                restating = threading.Thread(target=pipeline.cli, args=cur_argv, daemon=True)
                restating.start()
                next_restate += restate_every * 60
        fed_s = time.monotonic() - started
        drain_deadline = time.monotonic() + DRAIN_S
        while time.monotonic() < drain_deadline:
            lags = asyncio.run(consumer_lag(pipeline.env[KAFKA_ENV]))
            if not any(lags.values()):
                break
            time.sleep(2.0)
        drained = not any(lags.values())
        stop.set()
        thread.join()
    return report(samples, sent / fed_s, rate, int(rate * CHUNK_S), drained)


def report(samples: Samples, achieved: float, rate: float, slack: int, drained: bool) -> int:
    """Print per-service memory and per-group lag with the verdict; 0 when everything holds."""
    ok = drained
    print(f"fed {achieved:,.0f} points/s (asked {rate:,.0f}); {len(samples.t)} samples")
    print(f"{'service':<14}{'RSS start MB':>14}{'RSS end MB':>12}{'slope MB/h':>12}  flat")
    for name, mb in sorted(samples.rss.items()):
        slope, flat = memory_verdict(samples.t, mb)
        ok &= flat
        print(f"{name:<14}{mb[0]:>14.0f}{mb[-1]:>12.0f}{slope:>12.1f}  {'yes' if flat else 'NO'}")
    print(f"{'consumer group':<32}{'peak lag':>10}{'end lag':>10}  bounded")
    for group, lags in sorted(samples.lag.items()):
        bounded = lag_verdict(lags, slack)
        ok &= bounded
        print(f"{group:<32}{max(lags):>10}{lags[-1]:>10}  {'yes' if bounded else 'NO'}")
    print(f"drained after feeding stopped: {'yes' if drained else 'NO'}")
    print(f"verdict: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def main() -> None:
    """Parse arguments and run the soak."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=MINUTES)
    parser.add_argument("--rate", type=float, default=RATE, help="datapoints per second")
    parser.add_argument("--restate-every", type=float, default=RESTATE_EVERY_MIN, help="minutes")
    parser.add_argument("--sample-s", type=float, default=SAMPLE_S)
    args = parser.parse_args()
    raise SystemExit(run(args.minutes, args.rate, args.restate_every, args.sample_s))


if __name__ == "__main__":
    main()
