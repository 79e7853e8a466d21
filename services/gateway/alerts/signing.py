"""HMAC-SHA256 webhook signatures over ``timestamp.event_id.body`` (the Stripe scheme, extended).

Signing the timestamp lets receivers reject replays older than a tolerance
window; signing the event id stops a captured body being replayed under
another ``X-Spendstream-Event-Id`` (receivers deduplicate on it). During a
secret rotation the header carries one ``v2=`` signature per valid secret,
newest first, so a receiver verifies with whichever secret it holds.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

SIGNATURE_HEADER = "X-Spendstream-Signature"
TIMESTAMP_HEADER = "X-Spendstream-Timestamp"
EVENT_ID_HEADER = "X-Spendstream-Event-Id"
# "v2": the signed text includes the event id; "sha256=" (v1) signed timestamp.body only.
SCHEME = "v2"
# Receivers should reject signatures older than this (seconds): long enough for
# clock skew and a slow hop, short enough that a captured request soon goes stale.
DEFAULT_TOLERANCE_S = 300


def sign(secret: str, timestamp: int, event_id: str, body: bytes) -> str:
    """One signature ``v2=<hex>`` for ``body`` of event ``event_id`` sent at unix ``timestamp``.

    >>> sign("s3cret", 1700000000, "ev-1", b"{}")[:11]
    'v2=25f63fe7'
    """
    signed = f"{timestamp}.{event_id}.".encode() + body
    return f"{SCHEME}={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def signature_header(secrets: Sequence[str], timestamp: int, event_id: str, body: bytes) -> str:
    """The header value: a signature per valid secret (current first), comma-separated.

    >>> signature_header(["new", "old"], 1, "e", b"x").count("v2=")
    2
    """
    return ", ".join(sign(s, timestamp, event_id, body) for s in secrets)


def verify(
    secret: str,
    timestamp: int,
    event_id: str,
    body: bytes,
    header: str,
    now: int,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> bool:
    """What a receiver does: any listed signature matches (constant time) and it is fresh.

    >>> verify("k", 10, "e", b"x", signature_header(["j", "k"], 10, "e", b"x"), now=12)
    True
    >>> verify("k", 10, "other", b"x", sign("k", 10, "e", b"x"), now=12)
    False
    """
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, event_id, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in header.split(","))
