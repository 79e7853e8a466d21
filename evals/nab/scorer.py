"""NAB scoring: per-row sweep weights, per-file raw score, corpus threshold, normalisation.

A faithful, vectorised re-implementation of NAB's ``nab/sweeper.py`` (numenta/NAB, MIT):
row-based windows, probation rows ignored entirely (their detections neither reward
nor cost, and a window's probation rows are not part of it), a scaled sigmoid that
rewards early detections and discounts false positives just after a window, the best
(earliest) detection per window, and -A_FN for each window with no detection.
A row is a detection when ``anomaly_score >= threshold``, as in NAB.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evals.nab.corpus import CostMatrix

#: Share of a file's rows given to the detector to learn before scoring starts (NAB's value).
PROBATION_PERCENT = 0.15
#: NAB caps the probation at 15% of 5000 rows so long files are not mostly unscored.
PROBATION_CAP_ROWS = 5000
#: A false positive this many window-widths past a window costs the full A_FP (NAB's clamp).
FP_FULL_COST_POSITION = 3.0
#: Row category for probation rows, which NAB ignores.
PROBATION = -2
#: Row category for rows outside every window (a detection there is a false positive).
OUTSIDE = -1


def scaled_sigmoid(position: float) -> float:
    """NAB's scaled sigmoid: ~+0.987 at the far left of a window, 0 at its right edge."""
    if position >= FP_FULL_COST_POSITION:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probation_rows(n_rows: int) -> int:
    """Number of leading rows of a file that NAB leaves unscored."""
    return int(min(math.floor(PROBATION_PERCENT * n_rows), PROBATION_PERCENT * PROBATION_CAP_ROWS))


@dataclass(frozen=True)
class FileSweep:
    """Per-row weights of one file under one profile (independent of the detector)."""

    weights: np.ndarray  # weighted sweep score of a detection at each row
    category: np.ndarray  # PROBATION, OUTSIDE or the window's index
    n_windows: int  # windows with at least one scored row (each can be missed: -A_FN)
    fn_cost: float


@dataclass(frozen=True)
class FileScore:
    """Raw NAB score of one file at one threshold, with counts for reporting."""

    score: float
    windows: int
    detected_windows: int
    fp_rows: int


def sweep(n_rows: int, windows: Sequence[tuple[int, int]], cost: CostMatrix) -> FileSweep:
    """Compute NAB's weighted sweep score and window membership of every row."""
    max_tp = scaled_sigmoid(-1.0)
    weights = np.empty(n_rows, dtype=np.float64)
    category = np.full(n_rows, OUTSIDE, dtype=np.int64)
    prev_right: int | None = None
    prev_width = 0.0
    pending = sorted(windows)
    cursor = 0
    for k, (left, right) in enumerate(pending):
        # Rows between the previous window and this one are scored as false positives.
        _fill_outside(weights, cursor, left, prev_right, prev_width, cost)
        width = float(right - left + 1)
        rows = np.arange(left, right + 1)
        pos = -(right - rows + 1) / width
        weights[left : right + 1] = (2.0 / (1.0 + np.exp(5.0 * pos)) - 1.0) * cost.tp / max_tp
        category[left : right + 1] = k
        prev_right, prev_width, cursor = right, width, right + 1
    _fill_outside(weights, cursor, n_rows, prev_right, prev_width, cost)
    category[: probation_rows(n_rows)] = PROBATION
    scored = {int(c) for c in np.unique(category) if c >= 0}
    # Renumber windows that still have scored rows densely (fully-probation ones vanish).
    remap = {old: new for new, old in enumerate(sorted(scored))}
    for old, new in remap.items():
        category[category == old] = new
    return FileSweep(weights=weights, category=category, n_windows=len(remap), fn_cost=cost.fn)


def _fill_outside(
    weights: np.ndarray,
    start: int,
    stop: int,
    prev_right: int | None,
    prev_width: float,
    cost: CostMatrix,
) -> None:
    if stop <= start:
        return
    if prev_right is None:
        weights[start:stop] = -1.0 * cost.fp
        return
    rows = np.arange(start, stop)
    pos = np.abs(prev_right - rows) / (prev_width - 1.0)
    unweighted = np.where(
        pos >= FP_FULL_COST_POSITION, -1.0, 2.0 / (1.0 + np.exp(5.0 * np.minimum(pos, 50.0))) - 1.0
    )
    weights[start:stop] = unweighted * cost.fp


def score_file(fs: FileSweep, scores: np.ndarray, threshold: float) -> FileScore:
    """Raw NAB score of one file when every row with ``score >= threshold`` is a detection."""
    hit = scores >= threshold
    outside = hit & (fs.category == OUTSIDE)
    total = float(fs.weights[outside].sum())
    detected = 0
    for k in range(fs.n_windows):
        in_k = hit & (fs.category == k)
        if in_k.any():
            total += float(fs.weights[in_k].max())
            detected += 1
        else:
            total -= fs.fn_cost
    return FileScore(total, fs.n_windows, detected, int(outside.sum()))


def score_curve(fs: FileSweep, scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Raw score of one file at each of ``thresholds`` (any order), vectorised."""
    out = _best_of(scores[fs.category == OUTSIDE], fs.weights[fs.category == OUTSIDE], thresholds)
    for k in range(fs.n_windows):
        sel = fs.category == k
        s, w = scores[sel], fs.weights[sel]
        order = np.argsort(-s, kind="stable")
        best = np.maximum.accumulate(w[order])
        count = _count_at_least(s[order][::-1], thresholds)
        out += np.where(count > 0, best[np.maximum(count - 1, 0)], -fs.fn_cost)
    return out


def _best_of(s: np.ndarray, w: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Sum of ``w`` over rows with ``s >= t`` for each threshold ``t``."""
    if len(s) == 0:
        return np.zeros(len(thresholds))
    order = np.argsort(-s, kind="stable")
    csum: np.ndarray = np.concatenate(([0.0], np.cumsum(w[order])))
    picked: np.ndarray = csum[_count_at_least(s[order][::-1], thresholds)]
    return picked


def _count_at_least(ascending: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """How many of the sorted values are ``>=`` each threshold."""
    return len(ascending) - np.searchsorted(ascending, thresholds, side="left")


def optimise_threshold(
    files: Sequence[tuple[FileSweep, np.ndarray]],
) -> tuple[float, float]:
    """One threshold for the whole corpus maximising the summed raw score (exact search).

    The summed score only changes at the distinct anomaly scores, so trying each of them
    (plus "above every score") finds the true optimum that NAB's coarse-to-fine search
    approximates. Ties go to the highest threshold (fewest detections).

    Returns:
        ``(threshold, summed raw score)``.
    """
    distinct = np.unique(np.concatenate([s for _, s in files]))
    above_all = max(1.1, float(np.nextafter(distinct[-1], np.inf))) if len(distinct) else 1.1
    candidates = np.concatenate((distinct, [above_all]))
    total = np.zeros(len(candidates))
    for fs, s in files:
        total += score_curve(fs, s, candidates)
    best = int(np.flatnonzero(total >= total.max() - 1e-12)[-1])
    return float(candidates[best]), float(total[best])


def normalised_score(raw_total: float, n_windows: int, cost: CostMatrix) -> float:
    """NAB's 0-100 score: 0 = detect nothing (all windows missed), 100 = perfect."""
    perfect = n_windows * cost.tp
    null = -n_windows * cost.fn
    return 100.0 * (raw_total - null) / (perfect - null)
