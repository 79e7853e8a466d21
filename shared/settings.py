"""Base settings every service shares: environment -> frozen settings -> constructors.

Nothing here connects to anything; services build clients from these values in
their composition root. Values come from ``SPENDSTREAM_*`` environment variables
and, as a fallback, from the ``stack.env`` file the embedded stack writes, so a
service started after ``spendstream dev up`` finds the broker and database.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "SPENDSTREAM_"
_S = TypeVar("_S", bound="SpendstreamSettings")


def state_dir() -> Path:
    """Where the embedded stack keeps its data and writes ``stack.env``."""
    override = os.environ.get(f"{ENV_PREFIX}STATE_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / ".spendstream"


class SecurityProtocol(StrEnum):
    """Kafka security protocols we support (the ones managed Kafka offerings use)."""

    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class SaslMechanism(StrEnum):
    """SASL mechanisms aiokafka implements and MSK/Confluent/Aiven accept."""

    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"


_UNENCRYPTED = (SecurityProtocol.PLAINTEXT, SecurityProtocol.SASL_PLAINTEXT)


def _host(address: str) -> str:
    """The host of ``host:port``, ``[v6]:port`` or a bare host.

    >>> _host("[::1]:9092"), _host("kafka:9092"), _host("127.0.0.1")
    ('::1', 'kafka', '127.0.0.1')
    """
    address = address.strip()
    if address.startswith("["):
        return address[1 : address.index("]")]
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (traffic to it never leaves the host).

    >>> is_loopback("localhost"), is_loopback("127.0.0.2"), is_loopback("::1")
    (True, True, True)
    >>> is_loopback("kafka"), is_loopback("10.0.0.5")
    (False, False)
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SpendstreamSettings(BaseSettings):
    """Connection and identity settings shared by every service.

    Required values that have no safe default (the broker, the database when a
    service needs one) must come from the environment or ``stack.env``.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        extra="ignore",
        env_file=None,
    )

    service_name: str = "spendstream"
    log_level: str = "INFO"
    log_json: bool = True

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    # Unencrypted Kafka (PLAINTEXT or SASL_PLAINTEXT) is refused unless every bootstrap
    # server is loopback (the embedded stack, tests): spend, account ids and tags would
    # cross the network in clear. True allows it anyway (a trusted lab network).
    kafka_allow_plaintext: bool = False
    # Prefix for every topic name, so several environments can share a cluster
    # and tests can isolate themselves.
    topic_prefix: str = ""
    # 1 suits the embedded broker; production clusters want 3.
    topic_replication_factor: int = 1
    # Idempotent producers (no duplicates on retry). The embedded Tansu broker
    # answers InitProducerId with an unknown error, so its stack.env sets this false.
    kafka_enable_idempotence: bool = True

    postgres_dsn: SecretStr | None = None
    metrics_port: int | None = None

    @model_validator(mode="after")
    def _check_security(self) -> SpendstreamSettings:
        sasl = self.kafka_security_protocol in (
            SecurityProtocol.SASL_SSL,
            SecurityProtocol.SASL_PLAINTEXT,
        )
        if sasl and not (
            self.kafka_sasl_mechanism and self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                "SASL needs SPENDSTREAM_KAFKA_SASL_MECHANISM, "
                "SPENDSTREAM_KAFKA_SASL_USERNAME and SPENDSTREAM_KAFKA_SASL_PASSWORD"
            )
        remote = [
            h
            for h in map(_host, self.kafka_bootstrap_servers.split(","))
            if h and not is_loopback(h)
        ]
        if (
            self.kafka_security_protocol in _UNENCRYPTED
            and remote
            and not self.kafka_allow_plaintext
        ):
            raise ValueError(
                f"SPENDSTREAM_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol.value} would "
                f"send records unencrypted to {', '.join(remote)}: use SASL_SSL (or SSL), or set "
                "SPENDSTREAM_KAFKA_ALLOW_PLAINTEXT=true if that network is trusted"
            )
        if self.postgres_dsn is not None and "changethis" in self.postgres_dsn.get_secret_value():
            raise ValueError("SPENDSTREAM_POSTGRES_DSN still holds a placeholder password")
        return self

    def kafka_client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.kafka_bootstrap_servers,
            "security_protocol": self.kafka_security_protocol.value,
        }
        if self.kafka_security_protocol in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL):
            context = ssl.create_default_context(
                cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None
            )
            if self.kafka_ssl_certfile:
                context.load_cert_chain(
                    str(self.kafka_ssl_certfile),
                    str(self.kafka_ssl_keyfile) if self.kafka_ssl_keyfile else None,
                )
            kwargs["ssl_context"] = context
        if self.kafka_sasl_mechanism is not None:
            kwargs["sasl_mechanism"] = self.kafka_sasl_mechanism.value
            kwargs["sasl_plain_username"] = self.kafka_sasl_username
            if self.kafka_sasl_password is not None:
                kwargs["sasl_plain_password"] = self.kafka_sasl_password.get_secret_value()
        return kwargs

    def require_postgres_dsn(self) -> str:
        """The database DSN, or a clear error saying which variable to set."""
        if self.postgres_dsn is None:
            raise ValueError(
                "SPENDSTREAM_POSTGRES_DSN is not set; run `spendstream dev up` "
                "or point it at your PostgreSQL"
            )
        return self.postgres_dsn.get_secret_value()


def load(cls: type[_S], **overrides: Any) -> _S:
    """Build settings from the environment, falling back to the embedded ``stack.env``."""
    env_file = state_dir() / "stack.env"
    if env_file.exists():
        return cls(_env_file=env_file, **overrides)
    return cls(**overrides)
