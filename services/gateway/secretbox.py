"""Webhook signing secrets at rest: sealed with a key from settings (Fernet: AES-CBC + HMAC).

A database dump or a read replica then holds no secret a forger could sign
with. Sealed values carry a version prefix, so plaintext rows left from before
encryption are recognised and sealed at start-up (``repositories.subscriptions``).

>>> box = SecretBox(Fernet.generate_key().decode())
>>> sealed = box.seal("s3cret")
>>> sealed.startswith(SEALED_PREFIX), box.open(sealed)
(True, 's3cret')
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from services.gateway.exceptions import GatewayError

SEALED_PREFIX = "enc1:"


class SecretKeyError(GatewayError):
    """The secrets key is missing, a placeholder, or not a Fernet key."""


def check_key(key: str) -> str:
    """``key`` if it is a real Fernet key (32 random bytes, url-safe base64), else raise."""
    hint = (
        "SPENDSTREAM_GATEWAY_SECRETS_KEY must be a Fernet key (not a placeholder); mint one "
        'with `python -c "from cryptography.fernet import Fernet; '
        'print(Fernet.generate_key().decode())"`'
    )
    if "changethis" in key.lower() or len(set(key.rstrip("="))) < 16:
        raise SecretKeyError(hint)
    try:
        Fernet(key.encode())
    except ValueError as exc:
        raise SecretKeyError(hint) from exc
    return key


class SecretBox:
    """Seals and opens subscription secrets with the deployment's key."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(check_key(key).encode())

    def seal(self, plain: str) -> str:
        """The stored form of ``plain``."""
        return SEALED_PREFIX + self._fernet.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret inside ``stored``; raises SecretKeyError when another key sealed it."""
        if not is_sealed(stored):
            raise SecretKeyError("secret is not sealed; the gateway seals old rows at start-up")
        try:
            return self._fernet.decrypt(stored.removeprefix(SEALED_PREFIX).encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError(
                "a subscription secret was sealed with another key: "
                "SPENDSTREAM_GATEWAY_SECRETS_KEY changed"
            ) from exc


def is_sealed(stored: str) -> bool:
    """Whether ``stored`` is already sealed (and not a plaintext row from before)."""
    return stored.startswith(SEALED_PREFIX)
