"""The feedback body: the window planned and expected need, validated before anything is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.gateway.api.schemas_manage import FEEDBACK_WINDOW_MAX, FeedbackIn

START = "2025-03-10T00:00:00Z"
END = "2025-03-12T00:00:00Z"


def test_planned_takes_a_window_in_data_time() -> None:
    doc = {"verdict": "planned", "window_start": START, "window_end": END}
    body = FeedbackIn.model_validate(doc)
    assert body.window_start == datetime(2025, 3, 10, tzinfo=UTC)
    assert body.window_end - body.window_start == timedelta(days=2)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"verdict": "planned"}, "needs window_start and window_end"),
        ({"verdict": "planned", "window_start": START}, "go together"),
        ({"verdict": "planned", "window_start": END, "window_end": START}, "after window_start"),
        ({"verdict": "planned", "window_start": START, "window_end": START}, "after window_start"),
        (
            {"verdict": "expected", "window_start": START, "window_end": "2025-05-01T00:00:00Z"},
            f"at most {FEEDBACK_WINDOW_MAX.days} days",
        ),
        ({"verdict": "true_positive", "window_start": START, "window_end": END}, "no window"),
        ({"verdict": "planned", "window_start": 1741564800, "window_end": END}, "string"),
        ({"verdict": "planned", "window_start": "2025-03-10", "window_end": END}, "RFC 3339"),
        ({"verdict": "planned", "window_start": "2025-03-10T00:00", "window_end": END}, "timezone"),
    ],
)
def test_bad_windows_are_refused_with_a_clear_message(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FeedbackIn.model_validate(doc)


def test_verdicts_without_a_window_still_validate() -> None:
    for verdict in ("false_positive", "expected", "true_positive"):
        assert FeedbackIn.model_validate({"verdict": verdict}).window_start is None
