"""Settings come from the environment, are frozen, and reject unsafe values."""

import pytest
from pydantic import ValidationError

from shared.settings import SpendstreamSettings


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS", "broker:9093")
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
