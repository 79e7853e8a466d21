"""The NAB scorer reproduces NAB's published per-file raw scores on realAWSCloudwatch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evals.nab.corpus import (
    PROFILE_NAMES,
    CostMatrix,
    load_profiles,
    load_windows,
    read_result_scores,
    window_rows,
)
from evals.nab.scorer import (
    normalised_score,
    optimise_threshold,
    probation_rows,
    scaled_sigmoid,
    score_curve,
    score_file,
    sweep,
)

NAB = Path(__file__).resolve().parents[2] / "fixtures" / "nab"
# Published realAWSCloudwatch standard scores from the data README (30 windows).
PUBLISHED_STANDARD = {"numenta": 73.4, "contextOSE": 71.5, "knncad": 60.7}


def _published(detector: str, profile: str) -> pd.DataFrame:
    path = NAB / "results" / detector / f"{detector}_{profile}_scores.csv"
    assert path.exists(), f"fixture missing: {path} (see tests/fixtures/nab/README.md)"
    frame = pd.read_csv(path)
    return frame[frame.File.str.startswith("realAWSCloudwatch/")].set_index("File")


@pytest.mark.parametrize("detector", sorted(PUBLISHED_STANDARD))
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_reproduces_published_per_file_raw_scores(detector: str, profile: str) -> None:
    profiles = load_profiles(NAB / "config" / "profiles.json")
    windows = load_windows(NAB / "labels" / "combined_windows.json")
    thresholds = json.loads((NAB / "config" / "thresholds.json").read_text())
    threshold = thresholds[detector][profile]["threshold"]
    published = _published(detector, profile)
    assert len(published) == 17
    total, n_windows = 0.0, 0
    for key, row in published.iterrows():
        name = str(key).replace("realAWSCloudwatch/", f"{detector}_") + ".gz"
        stamps, scores = read_result_scores(NAB / "results" / detector / "realAWSCloudwatch" / name)
        fs = sweep(len(stamps), window_rows(stamps, windows[str(key)], str(key)), profiles[profile])
        got = score_file(fs, scores, threshold).score
        assert got == pytest.approx(row["Score"], abs=1e-3), key
        assert score_curve(fs, scores, np.array([threshold]))[0] == pytest.approx(got, abs=1e-9)
        total += got
        n_windows += fs.n_windows
    assert n_windows == 30
    if profile == "standard":
        norm = normalised_score(total, n_windows, profiles[profile])
        assert round(norm, 1) == PUBLISHED_STANDARD[detector]


def test_scaled_sigmoid_matches_nab_reference_points() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(3.0) == -1.0


def test_probation_is_fifteen_percent_capped_at_750() -> None:
    assert probation_rows(1000) == 150
    assert probation_rows(4032) == 604
    assert probation_rows(100_000) == 750


def test_hand_computed_file_score() -> None:
    cost = CostMatrix(tp=1.0, fp=0.11, fn=1.0)
    # 100 rows -> 15 probation rows; window rows 40..49 (width 10).
    fs = sweep(100, [(40, 49)], cost)
    scores = np.zeros(100)
    scores[5] = 1.0  # probation: ignored
    scores[20] = 1.0  # before any window: -A_FP
    scores[45] = 1.0  # in window: sigma(-(49-45+1)/10)/sigma(-1)
    scores[52] = 1.0  # just after: sigma(3/9) * A_FP
    expected = -0.11 + scaled_sigmoid(-5 / 10) / scaled_sigmoid(-1.0) + scaled_sigmoid(3 / 9) * 0.11
    result = score_file(fs, scores, 0.5)
    assert result.score == pytest.approx(expected)
    assert (result.detected_windows, result.fp_rows) == (1, 2)
    assert score_file(fs, scores, 2.0).score == -1.0  # nothing detected: one missed window


def test_optimiser_finds_the_exact_best_threshold() -> None:
    rng = np.random.default_rng(7)
    cost = CostMatrix(tp=1.0, fp=0.11, fn=1.0)
    files = []
    for n in (300, 500, 400):
        left = int(rng.integers(100, n - 60))
        fs = sweep(n, [(left, left + 40)], cost)
        files.append((fs, np.round(rng.random(n), 2)))
    threshold, best = optimise_threshold(files)
    grid = np.unique(np.concatenate([s for _, s in files]))
    brute = max(sum(score_file(fs, s, t).score for fs, s in files) for t in grid)
    assert best == pytest.approx(max(brute, -3.0))
    assert sum(score_file(fs, s, threshold).score for fs, s in files) == pytest.approx(best)
