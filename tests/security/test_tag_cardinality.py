"""Hostile tag cardinality cannot grow the anomaly service's cost state.

Resource tags are written by whoever owns a resource, so one account can show
thousands of values for a cost-allocation key (a key holding request ids, say).
Each value past the per-account cap shares the key's "other" series, so the
detectors, points and snapshot of an account stay bounded by the cap.
"""

from __future__ import annotations

from datetime import date

from services.anomaly.cost.account_state import AccountState
from services.anomaly.feedback.rules import FeedbackBook, FeedbackConfig
from services.anomaly.settings import AnomalySettings
from services.anomaly.state_codec import cost_state_codec
from shared.events.costs import series_tag
from tests.unit.anomaly.cur_events import NOW, delivery

DAY = date(2024, 1, 1)
CAP = 10
HOSTILE_VALUES = 2000


def test_thousands_of_tag_values_make_at_most_cap_plus_two_series_per_key() -> None:
    config = AnomalySettings(
        anomaly_tag_keys="team", anomaly_tag_values_per_key=CAP, anomaly_warmup_days=14
    ).cost_config()
    state = AccountState("1", config)
    leaves = {("AmazonEC2", f"Box{n}"): 1.0 for n in range(HOSTILE_VALUES)}
    tags = {leaf: {"team": f"t-{n}"} for n, leaf in enumerate(leaves)}
    leaves[("AmazonS3", "Storage")] = 1.0  # untagged
    book = FeedbackBook(FeedbackConfig())
    points = []
    for day in (DAY, DAY.replace(day=2)):
        days = {d: leaves for d in (DAY, day)}
        for event in delivery("1", f"a-{day}", days, tags=tags):
            points += state.on_event(event, book, NOW).points
    tag_series = {s for s in state.engine.series if series_tag(s)}
    assert len(tag_series) == CAP + 2  # CAP values, untagged, other
    assert "daily/1#team=*" in tag_series
    assert "daily/1#team=" in tag_series
    assert len({p.series_id for p in points if p.level == "tag"}) == CAP + 2
    assert len(state.__dict__["tags"].values["team"]) == CAP
    codec = cost_state_codec()
    assert codec.encode(codec.decode(codec.encode(state))) == codec.encode(state)
