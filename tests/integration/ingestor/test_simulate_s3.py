"""The simulator writes real deliveries to S3 (moto server mode) that read back exactly."""

from __future__ import annotations

import json
from datetime import date

import boto3
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from services.ingestor.cur.manifest import latest_per_period
from services.ingestor.sources import S3Source
from simulator import SimConfig, simulate_organisation
from simulator.cloudwatch_out import write_cloudwatch
from simulator.writers import write_cur, write_ground_truth

pytestmark = pytest.mark.integration
BUCKET = "sim-cur"
CONFIG = SimConfig(
    seed=9,
    accounts=2,
    days=35,
    start=date(2026, 6, 20),
    instances=12,
    cost_anomalies=5,
    metric_anomalies=1,
)


def test_cur2_deliveries_round_trip_through_s3(moto: str) -> None:
    org = simulate_organisation(CONFIG)
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    written = write_cur(org, f"s3://{BUCKET}/exports", "cur2", endpoint_url=moto)
    write_ground_truth(org, f"s3://{BUCKET}/exports/ground_truth.json", endpoint_url=moto)
    write_cloudwatch(
        org, f"s3://{BUCKET}/cw/datapoints.parquet", end=org.dates[1], endpoint_url=moto
    )

    source = S3Source(s3, BUCKET, "exports")
    latest = latest_per_period(source.deliveries())
    assert [d.billing_period for d in latest] == [date(2026, 6, 1), date(2026, 7, 1)]
    final_ids = {w.billing_period: w.manifest_id for w in written}  # later ones overwrite
    assert [d.manifest_id for d in latest] == [final_ids[d.billing_period] for d in latest]

    frames = []
    for delivery in latest:
        for key in delivery.files:
            with source.fetch(key) as path:
                frames.append(pq.read_table(path).to_pandas())
    lines = pd.concat(frames)
    got = lines.groupby(lines.line_item_usage_start_date.dt.strftime("%Y-%m-%d"))[
        "line_item_unblended_cost"
    ].sum()
    truth = org.daily_costs
    want = truth.groupby(truth.date.dt.strftime("%Y-%m-%d"))["cost"].sum()
    assert list(got.index) == list(want.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), atol=1e-6)

    body = s3.get_object(Bucket=BUCKET, Key="exports/ground_truth.json")["Body"].read()
    assert json.loads(body)["config"]["seed"] == CONFIG.seed
    head = s3.head_object(Bucket=BUCKET, Key="cw/datapoints.parquet")
    assert head["ContentLength"] > 0


def test_put_metric_data_reads_back_with_get_metric_data(moto: str) -> None:
    from simulator.cloudwatch_put import put_metric_data

    org = simulate_organisation(CONFIG)
    inst = org.instances[0]
    day = org.dates[2]
    sent = put_metric_data(org, start=day, end=org.dates[3], endpoint_url=moto)
    assert sent >= 288 * 3 * len(org.instances)
    cw = boto3.client("cloudwatch", endpoint_url=moto, region_name="us-east-1")
    start = pd.Timestamp(day, tz="UTC").to_pydatetime()
    result = cw.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "cpu",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/EC2",
                        "MetricName": "CPUUtilization",
                        "Dimensions": [{"Name": "InstanceId", "Value": inst.instance_id}],
                    },
                    "Period": 300,
                    "Stat": "Maximum",
                },
            }
        ],
        StartTime=start,
        EndTime=start + pd.Timedelta(hours=1),
    )
    values = result["MetricDataResults"][0]["Values"]
    util = org.instance_utilisation(inst.instance_id, start=day, end=org.dates[3])
    assert sorted(values) == pytest.approx(sorted(util.cpu_max[:12].tolist()))
