"""The rule that decides whether a re-published recommendation undoes a person's decision."""

from __future__ import annotations

import pytest

from services.gateway.recommendation_state import (
    SAVINGS_GROWTH_LAPSE,
    Proposal,
    lapse_reason,
    recommended_action,
)
from tests.unit.gateway import factories as f

SEEN = Proposal("overprovisioned", "m5.large", 100.0)


@pytest.mark.parametrize(
    ("current", "lapses"),
    [
        (Proposal("overprovisioned", "m5.large", 100.0 * (1 + SAVINGS_GROWTH_LAPSE)), False),
        (Proposal("overprovisioned", "m5.large", 100.0 * (1 + SAVINGS_GROWTH_LAPSE) + 0.01), True),
        (Proposal("overprovisioned", "m5.large", 1.0), False),
        (Proposal("overprovisioned", "t3.large", 100.0), True),
        (Proposal("underprovisioned", "m5.large", 100.0), True),
    ],
)
def test_only_material_changes_lapse(current: Proposal, lapses: bool) -> None:
    assert (lapse_reason(SEEN, current) is not None) is lapses


def test_savings_appearing_where_there_were_none_lapse() -> None:
    nothing = Proposal("optimized", "schedule", 0.0)
    assert lapse_reason(nothing, Proposal("optimized", "schedule", 0.0)) is None
    why = lapse_reason(nothing, Proposal("optimized", "schedule", 12.0))
    assert why == "monthly savings grew from $0.00 to $12.00 (from none)"


def test_the_proposal_of_a_published_recommendation() -> None:
    payload = f.recommendation("i-1", savings=42.0).model_dump(mode="json")
    assert Proposal.of(payload) == Proposal("overprovisioned", "m5.large", 42.0)
    assert recommended_action({"finding": "optimized", "options": []}) == "none"
