import pytest
from pydantic import ValidationError

from services.rightsizing.settings import RightsizingSettings


def test_defaults_are_compute_optimizers() -> None:
    policy = RightsizingSettings().evaluation_config().sizing
    assert (policy.cpu_percentile, policy.cpu_headroom_pct, policy.lookback_days) == (99.5, 20, 14)


@pytest.mark.parametrize(
    "override",
    [
        {"rightsizing_cpu_percentile": 99.0},
        {"rightsizing_cpu_headroom_pct": 10.0},
        {"rightsizing_lookback_days": 30},
    ],
)
def test_values_compute_optimizer_does_not_offer_are_refused(override: dict) -> None:
    with pytest.raises(ValidationError):
        RightsizingSettings(**override)


def test_selectable_values_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPENDSTREAM_RIGHTSIZING_CPU_PERCENTILE", "95")
    monkeypatch.setenv("SPENDSTREAM_RIGHTSIZING_LOOKBACK_DAYS", "93")
    settings = RightsizingSettings()
    assert settings.rightsizing_cpu_percentile == 95.0
    assert settings.evaluation_config().sizing.lookback_days == 93
