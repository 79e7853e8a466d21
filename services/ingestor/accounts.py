"""Which AWS accounts and regions to scan, and the role to assume in each.

Configured as JSON in ``SPENDSTREAM_INGESTOR_ACCOUNTS`` or as the path of a
YAML/JSON file holding the same mapping::

    "111111111111": {"role_arn": "arn:aws:iam::111111111111:role/spendstream-read",
                     "regions": ["us-east-1", "eu-west-1"]}

An account without ``role_arn`` is read with the ingestor's own credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from services.ingestor.exceptions import ConfigError


@dataclass(frozen=True)
class AccountConfig:
    """One account to scan."""

    account_id: str
    regions: tuple[str, ...]
    role_arn: str | None = None


def _load_file(path: Path) -> Any:
    if path.suffix == ".json":
        return orjson.loads(path.read_bytes())
    try:
        import yaml  # type: ignore[import-untyped]  # optional: only YAML account files need it
    except ImportError as exc:
        raise ConfigError(f"{path}: install pyyaml or give the accounts as JSON") from exc
    return yaml.safe_load(path.read_text())


def parse_accounts(raw: str | None, default_region: str) -> list[AccountConfig]:
    """Accounts from JSON text or a file path; empty when unset.

    >>> parse_accounts('{"111111111111": {"regions": ["eu-west-1"]}}', "us-east-1")
    [AccountConfig(account_id='111111111111', regions=('eu-west-1',), role_arn=None)]
    """
    if not raw:
        return []
    text = raw.strip()
    data: Any
    if text.startswith("{"):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"SPENDSTREAM_INGESTOR_ACCOUNTS is not valid JSON: {exc}") from exc
    else:
        path = Path(text)
        if not path.is_file():
            raise ConfigError(f"accounts file {path} not found; set SPENDSTREAM_INGESTOR_ACCOUNTS")
        data = _load_file(path)
    if not isinstance(data, dict):
        raise ConfigError("accounts must map account id -> {role_arn, regions}")
    accounts = []
    for account_id, entry in data.items():
        entry = entry or {}
        if not isinstance(entry, dict):
            raise ConfigError(f"account {account_id}: expected a mapping with role_arn/regions")
        regions = entry.get("regions") or [default_region]
        if isinstance(regions, str):
            regions = [regions]
        accounts.append(
            AccountConfig(str(account_id), tuple(str(r) for r in regions), entry.get("role_arn"))
        )
    return accounts
