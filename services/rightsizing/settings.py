"""The right-sizing service's settings: the only place that knows its environment names.

All names are ``SPENDSTREAM_RIGHTSIZING_*`` except the shared connection
settings inherited from :class:`shared.settings.SpendstreamSettings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import NoDecode

from services.rightsizing.catalogue.files import DEFAULT_PATH, DEFAULT_PRICES_PATH
from services.rightsizing.commitments.recommend import LOOKBACK_CHOICES as COMMITMENT_LOOKBACKS
from services.rightsizing.commitments.report import CommitmentPolicy
from services.rightsizing.evaluate import EvaluationConfig
from services.rightsizing.recommender import SizingPolicy
from services.rightsizing.recommender.policy import CPU_HEADROOM_CHOICES, CPU_PERCENTILE_CHOICES
from services.rightsizing.sketches.state import LOOKBACK_CHOICES
from shared.settings import SpendstreamSettings

# Settings limited to the values Compute Optimizer offers, so results compare.
_COMPUTE_OPTIMIZER_CHOICES: dict[str, tuple[float, ...]] = {
    "rightsizing_lookback_days": LOOKBACK_CHOICES,
    "rightsizing_cpu_percentile": CPU_PERCENTILE_CHOICES,
    "rightsizing_cpu_headroom_pct": CPU_HEADROOM_CHOICES,
}


class RightsizingSettings(SpendstreamSettings):
    """Sizing policy, evaluation cadence and state for the right-sizing service."""

    service_name: str = "rightsizing"

    # One consumer group: replicas share the datapoint partitions (and their state).
    rightsizing_group_id: str = "spendstream-rightsizing"
    # Compute Optimizer's look-backs: 14 days by default, 32 or 93 selectable.
    rightsizing_lookback_days: int = 14
    # Compute Optimizer's CPU percentiles: P99.5 default, P90 and P95 selectable.
    rightsizing_cpu_percentile: float = 99.5
    # Compute Optimizer's CPU headroom: 20% default, 0% and 30% selectable.
    rightsizing_cpu_headroom_pct: float = 20.0
    # Memory headroom when the CloudWatch agent reports memory.
    rightsizing_memory_headroom_pct: float = 20.0
    # Re-evaluate changed instances every minute: "continuous" next to Compute
    # Optimizer's daily refresh, and cheap because only changed instances run.
    rightsizing_evaluation_interval_s: float = 60.0
    # The instance catalogue (types, sizes, prices); the shipped file by default.
    rightsizing_catalogue_path: Path = DEFAULT_PATH
    # Rates for other regions, OSes/licences, tenancies and commitments, written
    # by `spendstream rightsizing prices refresh` (absent: only the catalogue's).
    rightsizing_prices_path: Path = DEFAULT_PRICES_PATH
    # Processes for evaluation passes (k-means and sizing never block the loop).
    rightsizing_eval_workers: int = 1
    # Accounts that opted in to Graviton and other CPU vendors (comma-separated
    # ids, "*" for all); others keep their architecture, as Compute Optimizer's
    # default preference does.
    rightsizing_other_architecture_accounts: Annotated[tuple[str, ...], NoDecode] = ()
    # Commitment purchase lookbacks in days (Cost Explorer's 7, 30 and 60).
    rightsizing_commitment_lookbacks: Annotated[tuple[int, ...], NoDecode] = COMMITMENT_LOOKBACKS
    # Alert when a commitment's month-to-date utilisation falls below this share.
    rightsizing_commitment_utilisation_threshold: float = Field(0.8, ge=0, le=1)
    # Alert when a commitment's term ends within this many days.
    rightsizing_commitment_expiry_days: float = Field(30.0, ge=0)

    @field_validator("rightsizing_commitment_lookbacks", mode="before")
    @classmethod
    def _lookbacks(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(int(part) for part in value.split(",") if part.strip())
        if isinstance(value, tuple | list) and not set(value) <= set(COMMITMENT_LOOKBACKS):
            raise ValueError(f"choose lookbacks among {COMMITMENT_LOOKBACKS} (Cost Explorer's)")
        return value

    @field_validator("rightsizing_other_architecture_accounts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator(*_COMPUTE_OPTIMIZER_CHOICES)
    @classmethod
    def _compute_optimizer_choice(cls, value: float, info: ValidationInfo) -> float:
        choices = _COMPUTE_OPTIMIZER_CHOICES[str(info.field_name)]
        if value not in choices:
            raise ValueError(f"choose one of {choices} (Compute Optimizer's)")
        return value

    def commitment_policy(self) -> CommitmentPolicy:
        """Lookbacks and alert thresholds for commitment reports."""
        return CommitmentPolicy(
            lookbacks=tuple(sorted(set(self.rightsizing_commitment_lookbacks))),
            utilisation_threshold=self.rightsizing_commitment_utilisation_threshold,
            expiry_days=self.rightsizing_commitment_expiry_days,
        )

    def evaluation_config(self) -> EvaluationConfig:
        """The sizing policy these settings select."""
        return EvaluationConfig(
            sizing=SizingPolicy(
                cpu_percentile=self.rightsizing_cpu_percentile,
                cpu_headroom_pct=self.rightsizing_cpu_headroom_pct,
                memory_headroom_pct=self.rightsizing_memory_headroom_pct,
                lookback_days=self.rightsizing_lookback_days,
            ),
            other_architecture_accounts=frozenset(self.rightsizing_other_architecture_accounts),
        )
