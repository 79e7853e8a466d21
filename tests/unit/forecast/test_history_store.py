from __future__ import annotations

from datetime import date, timedelta

from services.forecast.engine.history import HistoryStore

D0 = date(2025, 1, 1)


def test_history_is_bounded_to_the_newest_days():
    store = HistoryStore(max_days=400)
    for i in range(500):
        store.upsert("s", "a", None, D0 + timedelta(days=i), float(i))
    h = store.snapshot("s")
    assert len(h) == 400
    assert h.values[-1] == 499.0
    assert h.start == D0 + timedelta(days=100)


def test_only_real_changes_mark_a_series_for_refresh():
    store = HistoryStore(max_days=10)
    assert store.upsert("s", "a", None, D0, 1.0)
    assert store.take_changed() == ["s"]
    assert not store.upsert("s", "a", None, D0, 1.0)  # a redelivery
    assert not store.pending()
    assert store.upsert("s", "a", None, D0, 2.0)  # a later delivery supersedes
    assert store.take_changed() == ["s"]
    assert store.snapshot("s").values.tolist() == [2.0]


def test_failed_refreshes_go_back_on_the_list_and_dropped_series_vanish():
    store = HistoryStore(max_days=10)
    store.upsert("s", "a", None, D0, 1.0)
    store.upsert("t", "a", None, D0, 1.0)
    store.take_changed()
    store.mark_changed(["s", "unknown"])
    store.drop(["t"])
    assert store.take_changed() == ["s"]
    assert "t" not in store
