"""The three baselines of the evaluation, run on the same daily series as ours.

* OptScale's rule: today > 7-day mean x 1.3;
* a rolling z-score: today > mean + 3 sigma of the previous 28 days;
* scikit-learn's IsolationForest in batch (fit on every series-day of a level).

Each sees every series at every level (account, service, usage type) and gets
the same warm-up and the same dollar floor as our detector, which can only
help it. Consecutive alert days of one series form one incident.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from evals.cost_matching import FoundIncident
from shared.events.costs import series_id

OPTSCALE_RATIO = 1.3
OPTSCALE_WINDOW = 7
ZSCORE_WINDOW = 28
ZSCORE_SIGMAS = 3.0
# Forest size: scikit-learn's default; the seed makes the baseline repeatable.
FOREST_TREES = 100
FOREST_SEED = 0


def series_matrix(frame: pd.DataFrame) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray]]:
    """Dense daily values per series id at all three levels (0 where no cost)."""
    days = pd.date_range(frame["date"].min(), frame["date"].max(), freq="D")
    out: dict[str, np.ndarray] = {}
    levels = {
        "account": ["account_id"],
        "service": ["account_id", "service"],
        "usage_type": ["account_id", "service", "usage_type"],
    }
    for level, keys in levels.items():
        pivot = frame.groupby([*keys, "date"])["cost"].sum().unstack("date")
        pivot = pivot.reindex(columns=days, fill_value=0.0).fillna(0.0)
        for key, row in pivot.iterrows():
            parts = key if isinstance(key, tuple) else (key,)
            sid = series_id(level, "daily", *map(str, parts))  # type: ignore[arg-type]
            out[sid] = row.to_numpy(dtype=float)
    return days, out


def _trailing(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    s = pd.Series(values)
    mean = s.shift(1).rolling(window, min_periods=window).mean().to_numpy()
    std = s.shift(1).rolling(window, min_periods=window).std().to_numpy()
    return mean, std


Rule = Callable[[np.ndarray], np.ndarray]


def optscale(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Alert mask and expected values for OptScale's rule."""
    mean, _ = _trailing(values, OPTSCALE_WINDOW)
    return np.nan_to_num(values > OPTSCALE_RATIO * mean), np.nan_to_num(mean)


def zscore(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Alert mask and expected values for the rolling 3-sigma rule."""
    mean, std = _trailing(values, ZSCORE_WINDOW)
    return np.nan_to_num(values > mean + ZSCORE_SIGMAS * std), np.nan_to_num(mean)


def isolation_forest(matrix: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Batch IsolationForest per level on [ratio to 7-day mean, 28-day z, weekday]."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    by_level: dict[int, list[str]] = {}
    for sid in matrix:
        by_level.setdefault(sid.count("/"), []).append(sid)
    for sids in by_level.values():
        feats, index = [], []
        for sid in sids:
            v = matrix[sid]
            m7, _ = _trailing(v, OPTSCALE_WINDOW)
            m28, s28 = _trailing(v, ZSCORE_WINDOW)
            ratio = np.nan_to_num(v / np.where(m7 > 0, m7, np.nan) - 1.0)
            z = np.clip(np.nan_to_num((v - m28) / np.where(s28 > 0, s28, np.nan)), -20, 20)
            dow = np.arange(len(v)) % 7
            for t in range(ZSCORE_WINDOW, len(v)):
                feats.append((ratio[t], z[t], dow[t]))
                index.append((sid, t))
        if not feats:
            continue
        forest = IsolationForest(n_estimators=FOREST_TREES, random_state=FOREST_SEED)
        flags = forest.fit_predict(np.asarray(feats)) == -1
        for sid in sids:
            out[sid] = (np.zeros(len(matrix[sid]), dtype=bool), _trailing(matrix[sid], 7)[0])
        for (sid, t), flag in zip(index, flags, strict=True):
            out[sid][0][t] = flag and matrix[sid][t] > np.nan_to_num(out[sid][1][t])
    return out


def incidents_from_masks(
    days: pd.DatetimeIndex,
    matrix: dict[str, np.ndarray],
    masks: dict[str, tuple[np.ndarray, np.ndarray]],
    min_impact_usd: float,
    min_pct: float,
    warmup_days: int,
) -> list[FoundIncident]:
    """Apply the floors and warm-up, then merge consecutive alert days per series."""
    out: list[FoundIncident] = []
    for sid, (mask, expected) in masks.items():
        values = matrix[sid]
        seen = np.flatnonzero(values > 0)
        if not len(seen):
            continue
        excess = values - np.nan_to_num(expected)
        ok = (
            mask.astype(bool)
            & (excess >= min_impact_usd)
            & (excess >= min_pct * np.nan_to_num(expected))
            & (np.arange(len(values)) >= seen[0] + warmup_days)
        )
        t = 0
        while t < len(ok):
            if not ok[t]:
                t += 1
                continue
            end = t
            while end + 1 < len(ok) and ok[end + 1]:
                end += 1
            leaf = sid.count("/") == 3
            out.append(
                FoundIncident(
                    incident_id=f"{sid}@{days[t].date()}",
                    names=(sid,),
                    start=days[t].date(),
                    end=(days[end] + pd.Timedelta(days=1)).date(),
                    top_usage_type=sid.rsplit("/", 1)[1] if leaf else None,
                    top_usage_share=1.0 if leaf else 0.0,
                )
            )
            t = end + 1
    return out


def run_baselines(
    frame: pd.DataFrame, min_impact_usd: float, min_pct: float, warmup_days: int
) -> dict[str, list[FoundIncident]]:
    """Incidents of every baseline on ``frame``."""
    days, matrix = series_matrix(frame)
    rules = {
        "optscale_7d_x1.3": {sid: optscale(v) for sid, v in matrix.items()},
        "rolling_3sigma": {sid: zscore(v) for sid, v in matrix.items()},
        "isolation_forest": isolation_forest(matrix),
    }
    return {
        name: incidents_from_masks(days, matrix, masks, min_impact_usd, min_pct, warmup_days)
        for name, masks in rules.items()
    }
