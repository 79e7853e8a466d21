"""API keys: ``ssk_<id>_<secret>``; only ``sha256(secret)`` is ever stored.

A 32-byte random secret has 256 bits of entropy, so a fast hash is safe (no
password-style stretching needed); the public id finds the row in one lookup
and the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_PREFIX = "ssk"
# 8 bytes of id: unique across any realistic number of keys, short enough to show in logs.
_ID_BYTES = 8
# 32 bytes of secret: 256 bits, the usual strength for bearer tokens.
_SECRET_BYTES = 32
_KEY_RE = re.compile(r"^ssk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class NewKey:
    """A freshly minted key: show ``token`` once, store ``key_id`` and ``secret_hash``."""

    key_id: str
    token: str
    secret_hash: bytes


def hash_secret(secret: str) -> bytes:
    """The stored digest of a key's secret part."""
    return hashlib.sha256(secret.encode()).digest()


def mint() -> NewKey:
    """A new random key.

    >>> k = mint()
    >>> parse(k.token) is not None and parse(k.token)[0] == k.key_id
    True
    """
    key_id = secrets.token_hex(_ID_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return NewKey(key_id, f"{KEY_PREFIX}_{key_id}_{secret}", hash_secret(secret))


def parse(token: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` for a well-formed token, else None.

    >>> parse("nope") is None
    True
    """
    match = _KEY_RE.match(token)
    return (match.group(1), match.group(2)) if match else None


def matches(secret: str, stored_hash: bytes) -> bool:
    """Constant-time check of a presented secret against the stored digest."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)
