"""HMAC-SHA256 webhook signatures over ``timestamp.body`` (the Stripe/Slack scheme).

Signing the timestamp with the body lets receivers reject replays older than a
tolerance window.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Spendstream-Signature"
TIMESTAMP_HEADER = "X-Spendstream-Timestamp"
EVENT_ID_HEADER = "X-Spendstream-Event-Id"
# Receivers should reject signatures older than this (seconds): long enough for
# clock skew and a slow hop, short enough that a captured request soon goes stale.
DEFAULT_TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value ``sha256=<hex>`` for ``body`` sent at unix ``timestamp``.

    >>> sign("s3cret", 1700000000, b"{}")[:15]
    'sha256=97926816'
    """
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    secret: str,
    timestamp: int,
    body: bytes,
    signature: str,
    now: int,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> bool:
    """What a receiver does: constant-time compare and a freshness check.

    >>> verify("k", 10, b"x", sign("k", 10, b"x"), now=12)
    True
    >>> verify("k", 10, b"x", sign("k", 10, b"y"), now=12)
    False
    """
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
