"""Stream NAB files through a detector, write NAB-format results, and score them.

The detector sees only ``(timestamp, value)`` in file order; labels are used only to write
the ``label`` column and to score. One threshold per profile is chosen for the whole
corpus by :func:`optimise_threshold`, as NAB does for every published detector.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from evals.nab.baselines import HalfSpaceTreesBaseline, RollingZScore
from evals.nab.corpus import (
    CostMatrix,
    list_series,
    load_windows,
    read_series,
    window_rows,
)
from evals.nab.exceptions import NabDataError
from evals.nab.scorer import (
    normalised_score,
    optimise_threshold,
    score_file,
    sweep,
)
from services.anomaly.metric import MetricDetector, MetricDetectorConfig


class StreamDetector(Protocol):
    """Anything that scores a point before learning it."""

    def update(self, timestamp: datetime, value: float) -> float:
        """Score ``value`` then learn it; returns the score."""


class _MetricAdapter:
    def __init__(self, config: MetricDetectorConfig | None = None) -> None:
        self._detector = MetricDetector(config or MetricDetectorConfig())

    def update(self, timestamp: datetime, value: float) -> float:
        return self._detector.update(timestamp, value).score


def metric_detector(overrides: Mapping[str, Any]) -> Callable[[], StreamDetector]:
    """A factory of our detector with some ``MetricDetectorConfig`` fields replaced (tuning)."""
    config = replace(MetricDetectorConfig(), **overrides)
    return lambda: _MetricAdapter(config)


#: Detectors the runner knows by name; each call makes a fresh instance for one file.
DETECTORS: dict[str, Callable[[], StreamDetector]] = {
    "spendstream": _MetricAdapter,
    "rollingZScore": RollingZScore,
    "riverHalfSpaceTrees": HalfSpaceTreesBaseline,
}


@dataclass(frozen=True)
class FileResult:
    """One file's per-row scores and labelled windows (row ranges)."""

    key: str
    scores: np.ndarray
    windows: list[tuple[int, int]]


@dataclass(frozen=True)
class ProfileScore:
    """A detector's corpus score under one profile at its optimised threshold."""

    profile: str
    threshold: float
    raw: float
    normalised: float
    windows: int
    detected: int
    fp_rows: int


def run_detector(
    name: str,
    make: Callable[[], StreamDetector],
    data_dir: Path,
    labels: Path,
    out_dir: Path | None,
    keys: Sequence[str] | None = None,
) -> list[FileResult]:
    """Stream every labelled file under ``data_dir`` through a fresh detector.

    Writes ``out_dir/<name>/<category>/<name>_<file>.csv`` in NAB's result format
    (``timestamp,value,anomaly_score,label``) when ``out_dir`` is given.
    """
    windows = load_windows(labels)
    results = []
    for key, path in list_series(data_dir).items():
        if (keys is not None and key not in keys) or key not in windows:
            continue
        series = read_series(path, key)
        rows = window_rows(series.timestamps, windows[key], key)
        detector = make()
        stamps = pd.DatetimeIndex(series.timestamps).to_pydatetime()
        scores = np.fromiter(
            (detector.update(t, v) for t, v in zip(stamps, series.values.tolist(), strict=True)),
            dtype=np.float64,
            count=len(stamps),
        )
        results.append(FileResult(key, scores, rows))
        if out_dir is not None:
            _write_result(out_dir, name, key, series.timestamps, series.values, scores, rows)
    if not results:
        raise NabDataError(f"no file under {data_dir} has labels in {labels}; check both paths")
    return results


def _write_result(
    out_dir: Path,
    name: str,
    key: str,
    stamps: np.ndarray,
    values: np.ndarray,
    scores: np.ndarray,
    rows: list[tuple[int, int]],
) -> None:
    label = np.zeros(len(values), dtype=np.int64)
    for left, right in rows:
        label[left : right + 1] = 1
    category, filename = key.rsplit("/", 1)
    target = out_dir / name / category / f"{name}_{filename}"
    target.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(stamps).strftime("%Y-%m-%d %H:%M:%S"),
            "value": values,
            "anomaly_score": scores,
            "label": label,
        }
    ).to_csv(target, index=False)


def score_results(
    results: Sequence[FileResult], profiles: Mapping[str, CostMatrix]
) -> list[ProfileScore]:
    """Score a detector's results per profile with one optimised threshold each."""
    out = []
    for profile, cost in profiles.items():
        pairs = [(sweep(len(r.scores), r.windows, cost), r.scores) for r in results]
        threshold, raw = optimise_threshold(pairs)
        per_file = [score_file(fs, s, threshold) for fs, s in pairs]
        n_windows = sum(f.windows for f in per_file)
        out.append(
            ProfileScore(
                profile=profile,
                threshold=threshold,
                raw=raw,
                normalised=normalised_score(raw, n_windows, cost),
                windows=n_windows,
                detected=sum(f.detected_windows for f in per_file),
                fp_rows=sum(f.fp_rows for f in per_file),
            )
        )
    return out


def score_at_thresholds(
    results: Sequence[FileResult],
    profiles: Mapping[str, CostMatrix],
    thresholds: Mapping[str, float],
) -> list[ProfileScore]:
    """Score a detector's results at given (e.g. published) thresholds per profile."""
    out = []
    for profile, cost in profiles.items():
        per_file = [
            score_file(sweep(len(r.scores), r.windows, cost), r.scores, thresholds[profile])
            for r in results
        ]
        raw = sum(f.score for f in per_file)
        n_windows = sum(f.windows for f in per_file)
        out.append(
            ProfileScore(
                profile=profile,
                threshold=thresholds[profile],
                raw=raw,
                normalised=normalised_score(raw, n_windows, cost),
                windows=n_windows,
                detected=sum(f.detected_windows for f in per_file),
                fp_rows=sum(f.fp_rows for f in per_file),
            )
        )
    return out
