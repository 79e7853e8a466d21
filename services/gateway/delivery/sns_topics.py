"""Which SNS topics a tenant may publish to with the gateway's own AWS credentials.

The gateway publishes as itself, so any topic its role can reach would do a
tenant's bidding (a confused deputy): only topics in the tenant's own AWS
accounts, or ones an operator listed, are allowed.
"""

from __future__ import annotations

from collections.abc import Collection

# arn:partition:sns:region:account:name: the account is the fifth field.
_ACCOUNT_FIELD = 4


def topic_account(arn: str) -> str | None:
    """The AWS account that owns the topic ``arn``.

    >>> topic_account("arn:aws:sns:us-east-1:111111111111:alerts")
    '111111111111'
    >>> topic_account("not-an-arn") is None
    True
    """
    fields = arn.split(":")
    return fields[_ACCOUNT_FIELD] if len(fields) == 6 and fields[2] == "sns" else None


def topic_allowed(arn: str, tenant_accounts: Collection[str], allow_list: Collection[str]) -> bool:
    """True when the topic is in one of the tenant's accounts or operator-listed.

    >>> topic_allowed("arn:aws:sns:us-east-1:111111111111:a", ["111111111111"], [])
    True
    >>> topic_allowed("arn:aws:sns:us-east-1:999999999999:a", ["111111111111"], [])
    False
    """
    return arn in allow_list or topic_account(arn) in tenant_accounts
