"""The contextual pattern memory learns repeated shapes and stays bounded."""

from __future__ import annotations

import numpy as np

from services.anomaly.metric.pattern import PatternMemory


def test_a_repeated_shape_stops_being_surprising_and_a_break_in_it_is_not() -> None:
    m = PatternMemory(levels=8, order=3, max_count=64, max_counters=2000)
    shape = [0, 3, 5, 7]
    for _ in range(50):
        for level in shape:
            m.learn(level, m.contexts())
    assert m.surprise(0, m.contexts()) == 0.0  # after 3, 5, 7 always comes 0
    assert m.surprise(3, m.contexts()) == 1.0  # 3 never followed 7


def test_memory_is_capped_whatever_the_data() -> None:
    m = PatternMemory(levels=32, order=6, max_count=64, max_counters=500)
    for level in np.random.default_rng(1).integers(0, 32, 20_000).tolist():
        m.learn(level, m.contexts())
    assert len(m.counts) <= 500
    assert len(m.history) == 6


def test_a_full_memory_forgets_old_rare_transitions_and_keeps_learning() -> None:
    m = PatternMemory(levels=32, order=3, max_count=64, max_counters=300)
    for level in np.random.default_rng(2).integers(0, 32, 5_000).tolist():
        m.learn(level, m.contexts())
    for _ in range(30):
        for level in (1, 9, 17, 25):
            m.learn(level, m.contexts())
    assert len(m.counts) <= 300
    assert m.surprise(1, m.contexts()) < 0.1  # the new habit is learned despite the cap
