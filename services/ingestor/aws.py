"""boto3 clients per account and region, through an assumed role where configured.

Credentials from ``sts.assume_role`` are cached per role until shortly before
they expire, so a poll of many regions assumes each role once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config

from services.ingestor.accounts import AccountConfig

# Renew assumed-role credentials 5 minutes before expiry so a long poll never
# runs with credentials that die mid-call.
CREDENTIAL_RENEW_MARGIN = timedelta(minutes=5)
# One-hour sessions: the STS default and maximum for chained roles.
ROLE_SESSION_SECONDS = 3600
ROLE_SESSION_NAME = "spendstream-ingestor"
# Adaptive retries let botocore absorb brief throttling before tenacity sees it.
BOTO_CONFIG = Config(retries={"max_attempts": 3, "mode": "adaptive"})


class AwsClients:
    """Makes clients for (account, region), assuming the account's role if it has one."""

    def __init__(self, region: str, endpoint_url: str | None = None) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self._base = boto3.session.Session(region_name=region)
        self._credentials: dict[str, tuple[dict[str, Any], datetime]] = {}

    def client(self, service: str, region: str | None = None) -> Any:
        """A client with the ingestor's own credentials."""
        return self._base.client(
            service,
            region_name=region or self.region,
            endpoint_url=self.endpoint_url,
            config=BOTO_CONFIG,
        )

    def _assume(self, role_arn: str) -> dict[str, Any]:
        cached = self._credentials.get(role_arn)
        if cached and cached[1] - CREDENTIAL_RENEW_MARGIN > datetime.now(UTC):
            return cached[0]
        response = self.client("sts").assume_role(
            RoleArn=role_arn,
            RoleSessionName=ROLE_SESSION_NAME,
            DurationSeconds=ROLE_SESSION_SECONDS,
        )
        creds = response["Credentials"]
        kwargs = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
        expiry = creds["Expiration"]
        if expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=UTC)
        self._credentials[role_arn] = (kwargs, expiry)
        return kwargs

    def for_account(self, account: AccountConfig, service: str, region: str) -> Any:
        """A client acting in ``account`` (assumed role) in ``region``."""
        if account.role_arn is None:
            return self.client(service, region)
        session = boto3.session.Session(region_name=region, **self._assume(account.role_arn))
        return session.client(
            service, region_name=region, endpoint_url=self.endpoint_url, config=BOTO_CONFIG
        )
