"""Settings come from the environment, are frozen, and reject unsafe values."""

import pytest
from pydantic import ValidationError

from shared.settings import SpendstreamSettings


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS", "broker:9093")
    monkeypatch.setenv("SPENDSTREAM_KAFKA_ALLOW_PLAINTEXT", "true")
    settings = SpendstreamSettings()
    assert settings.kafka_client_kwargs()["bootstrap_servers"] == "broker:9093"
    with pytest.raises(ValidationError):
        settings.service_name = "x"  # type: ignore[misc]  # frozen on purpose


def test_sasl_requires_credentials() -> None:
    with pytest.raises(ValidationError, match="SASL needs"):
        SpendstreamSettings(kafka_security_protocol="SASL_SSL")


def test_sasl_scram_kwargs() -> None:
    settings = SpendstreamSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="u",
        kafka_sasl_password="s3cret-pw",
    )
    kwargs = settings.kafka_client_kwargs()
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kwargs["sasl_plain_password"] == "s3cret-pw"
    assert "ssl_context" in kwargs
    assert "s3cret-pw" not in repr(settings)


def test_placeholder_password_rejected() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        SpendstreamSettings(postgres_dsn="postgresql://u:changethis@h/db")


def test_missing_dsn_says_what_to_do() -> None:
    with pytest.raises(ValueError, match="spendstream dev up"):
        SpendstreamSettings().require_postgres_dsn()


def test_every_service_setting_carries_its_service_prefix(monkeypatch) -> None:
    """``SPENDSTREAM_<NAME>_*`` for a service's own variables; only shared ones go without."""
    from services.anomaly.settings import AnomalySettings
    from services.forecast.settings import ForecastSettings
    from services.gateway.settings import GatewaySettings
    from services.ingestor.settings import IngestorSettings
    from services.rightsizing.settings import RightsizingSettings

    shared = set(SpendstreamSettings.model_fields)
    for name, cls in [
        ("ingestor", IngestorSettings),
        ("anomaly", AnomalySettings),
        ("rightsizing", RightsizingSettings),
        ("forecast", ForecastSettings),
        ("gateway", GatewaySettings),
    ]:
        own = [f for f in cls.model_fields if f not in shared]
        assert own, name
        assert [f for f in own if not f.startswith(f"{name}_")] == [], name
    monkeypatch.setenv("SPENDSTREAM_GATEWAY_HTTP_PORT", "8123")
    assert GatewaySettings().gateway_http_port == 8123


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
@pytest.mark.parametrize(
    "servers", ["kafka:9092", "127.0.0.1:9092,10.0.0.7:9092", "[fd00::1]:9092"]
)
def test_unencrypted_kafka_to_a_remote_broker_is_refused(protocol: str, servers: str) -> None:
    sasl = {"kafka_sasl_mechanism": "SCRAM-SHA-512", "kafka_sasl_username": "u"}
    extra = {**sasl, "kafka_sasl_password": "pw"} if protocol.startswith("SASL") else {}
    with pytest.raises(ValidationError, match="ALLOW_PLAINTEXT"):
        SpendstreamSettings(
            kafka_bootstrap_servers=servers, kafka_security_protocol=protocol, **extra
        )


def test_unencrypted_kafka_to_a_remote_broker_with_the_opt_in() -> None:
    settings = SpendstreamSettings(kafka_bootstrap_servers="kafka:9092", kafka_allow_plaintext=True)
    assert settings.kafka_client_kwargs()["security_protocol"] == "PLAINTEXT"


@pytest.mark.parametrize(
    "servers", ["127.0.0.1:9092", "localhost:19092", "[::1]:9092", "127.0.0.1:1,localhost:2"]
)
def test_plaintext_to_loopback_is_accepted(servers: str) -> None:
    """The embedded stack and the tests talk PLAINTEXT to a broker on this machine."""
    assert SpendstreamSettings(kafka_bootstrap_servers=servers).kafka_allow_plaintext is False


def test_tls_to_a_remote_broker_is_accepted() -> None:
    settings = SpendstreamSettings(
        kafka_bootstrap_servers="kafka:9093", kafka_security_protocol="SSL"
    )
    assert settings.kafka_client_kwargs()["security_protocol"] == "SSL"
