"""The ingestor's settings: the only place that knows its environment variable names.

All names are ``SPENDSTREAM_INGESTOR_*`` except the shared connection settings
inherited from :class:`shared.settings.SpendstreamSettings`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.settings import SpendstreamSettings, state_dir


class IngestorSettings(SpendstreamSettings):
    """Sources, schedules and AWS access for the ingestor service."""

    service_name: str = "ingestor"

    # Where CUR deliveries are: a directory or s3://bucket/prefix; None disables CUR polling.
    ingestor_cur_source: str | None = None
    # Where the delivered set, CloudWatch watermarks and inventory hashes live.
    ingestor_state_dir: Path = Field(default_factory=lambda: state_dir() / "ingestor")
    # AWS endpoint override (moto, LocalStack, a VPC endpoint); None = real AWS.
    ingestor_aws_endpoint_url: str | None = None
    # Region for STS/S3 calls and the default CloudWatch/EC2 region.
    ingestor_aws_region: str = "us-east-1"
    # Accounts to scan: JSON {"<account id>": {"role_arn": ..., "regions": [...]}} or a YAML path.
    ingestor_accounts: str | None = None
    # Replicas share each CUR delivery by line-items partition (cur_shares.py); off: this
    # process ingests whole deliveries and keeps the delivered set in its state file.
    ingestor_cur_shared: bool = False
    # The consumer group that assigns the shares.
    ingestor_cur_group_id: str = "ingestor-cur"

    # AWS rewrites month-to-date CUR a few times a day: checking every 5 min
    # sees a delivery soon after it lands at negligible listing cost.
    ingestor_cur_poll_s: float = 300.0
    # CloudWatch EC2 basic monitoring closes a 5-minute period; poll once per period.
    ingestor_cloudwatch_poll_s: float = 300.0
    # CloudWatch may revise the newest datapoints for a few minutes; 10 min lag
    # means a published period is final, so watermarks never skip late data.
    ingestor_cloudwatch_lag_s: float = 600.0
    # First run with no watermark starts this far back (one day of 5-min points).
    ingestor_cloudwatch_initial_lookback_s: float = 86_400.0
    # CloudWatch period: 5 minutes is EC2 basic monitoring's resolution.
    ingestor_cloudwatch_period_s: int = 300
    # Also fetch the usage metrics of shared.usage_metrics (NAT bytes, Lambda, S3,
    # DynamoDB, ASG sizes, billing) onto cloudwatch.usage, where the anomaly service's
    # usage loop prices them (services/anomaly/usage); they never reach the datapoints topic.
    ingestor_cloudwatch_usage_metrics: bool = True
    # Instances change rarely; every 10 minutes catches resizes and launches promptly.
    ingestor_inventory_poll_s: float = 600.0
