"""Webhook signing secrets at rest: sealed with a key from settings (Fernet: AES-CBC + HMAC).

A database dump or a read replica then holds no secret a forger could sign
with. Sealed values carry a version prefix, so plaintext rows left from before
encryption are recognised and sealed at start-up (``repositories.subscriptions``).

The setting may list several keys, comma-separated, newest first: the first
seals, any opens, and start-up re-seals rows under an older key with the
first, so the key itself rotates (add the new key in front, restart, then drop
the old one once every replica has started).

>>> old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
>>> sealed = SecretBox(old).seal("s3cret")
>>> sealed.startswith(SEALED_PREFIX), SecretBox(old).open(sealed)
(True, 's3cret')
>>> box = SecretBox(f"{new},{old}")
>>> box.open(sealed), box.needs_reseal(sealed), box.needs_reseal(box.reseal(sealed))
('s3cret', True, False)
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from services.gateway.exceptions import GatewayError

SEALED_PREFIX = "enc1:"


class SecretKeyError(GatewayError):
    """The secrets key is missing, a placeholder, or not a Fernet key."""


def check_key(key: str) -> str:
    """``key`` if each comma-separated key is a real Fernet key (32 random bytes), else raise."""
    hint = (
        "SPENDSTREAM_GATEWAY_SECRETS_KEY must be one or more comma-separated Fernet keys "
        '(not placeholders); mint one with `python -c "from cryptography.fernet import Fernet; '
        'print(Fernet.generate_key().decode())"`'
    )
    for part in key.split(","):
        if "changethis" in part.lower() or len(set(part.strip().rstrip("="))) < 16:
            raise SecretKeyError(hint)
        try:
            Fernet(part.strip().encode())
        except ValueError as exc:
            raise SecretKeyError(hint) from exc
    return key


class SecretBox:
    """Seals and opens subscription secrets with the deployment's keys (newest first)."""

    def __init__(self, keys: str) -> None:
        fernets = [Fernet(k.strip().encode()) for k in check_key(keys).split(",")]
        self._primary = fernets[0]
        self._all = MultiFernet(fernets)

    def seal(self, plain: str) -> str:
        """The stored form of ``plain``, under the newest key."""
        return SEALED_PREFIX + self._primary.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret inside ``stored``; raises SecretKeyError when no configured key sealed it."""
        if not is_sealed(stored):
            raise SecretKeyError("secret is not sealed; the gateway seals old rows at start-up")
        try:
            return self._all.decrypt(_token(stored)).decode()
        except InvalidToken as exc:
            raise SecretKeyError(
                "a subscription secret was sealed with a key SPENDSTREAM_GATEWAY_SECRETS_KEY "
                "no longer lists"
            ) from exc

    def needs_reseal(self, stored: str) -> bool:
        """Plaintext, or sealed under an older key (still listed)."""
        if not is_sealed(stored):
            return True
        try:
            self._primary.decrypt(_token(stored))
        except InvalidToken:
            return True
        return False

    def reseal(self, stored: str) -> str:
        """``stored`` sealed under the newest key (plaintext rows from before are sealed)."""
        return self.seal(self.open(stored) if is_sealed(stored) else stored)


def _token(stored: str) -> bytes:
    return stored.removeprefix(SEALED_PREFIX).encode()


def is_sealed(stored: str) -> bool:
    """Whether ``stored`` is already sealed (and not a plaintext row from before)."""
    return stored.startswith(SEALED_PREFIX)
