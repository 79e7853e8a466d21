"""Interval-calibration study on validation seeds: fit once, compare calibrations offline.

Calibration changes only the interval widths (selection uses backtest MASE of
the means), so the expensive part (every model's backtest folds and raw final
forecast) is fitted once and cached; calibration variants are then scored on
the cached folds in seconds. Use validation seeds only (e.g. 101-105): the
reported seeds of ``eval_forecast`` stay an untouched holdout.

Run::

    uv run python -m evals.forecast_calibration_study collect --seeds 101-105
    uv run python -m evals.forecast_calibration_study score
"""

from __future__ import annotations

import argparse
import multiprocessing
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from evals.eval_forecast import HOLDOUT_DAYS, build_series, parse_seeds
from services.forecast.backtest.calibration import apply, fit_factors
from services.forecast.backtest.metrics import coverage, mase, seasonal_naive_mae
from services.forecast.backtest.rolling import Fold, ModelBacktest, plan_origins, run_backtest
from services.forecast.backtest.scoring import score
from services.forecast.engine.config import HORIZONS, RefreshConfig
from services.forecast.exceptions import ModelFitError
from services.forecast.models.base import DailyHistory, Prediction
from services.forecast.models.registry import build_model
from services.forecast.selection.select import choose

CACHE = Path(".spendstream/forecast-calibration-study.pkl")

Calibrate = Callable[[Sequence[Fold], Prediction, date], Prediction]


def fit_models(
    train: DailyHistory, models: Sequence[str], config: RefreshConfig
) -> dict[str, tuple[ModelBacktest, Prediction]]:
    """Each model's backtest and raw (uncalibrated) final forecast on ``train``.

    A model whose backtest or final fit fails is left out, as the service does.
    """
    plan = plan_origins(
        len(train.values),
        config.folds,
        config.max_horizon,
        config.fold_step_days,
        config.min_train_days,
        config.recent_fold_days,
    )
    out: dict[str, tuple[ModelBacktest, Prediction]] = {}
    for name in models:
        model = build_model(name, config.prophet_uncertainty_samples, config.seed)
        bt = run_backtest(model, train, plan)
        if bt.error is not None or not bt.folds:
            continue
        try:
            out[name] = (bt, model.fit(train).predict(config.max_horizon))
        except ModelFitError:
            continue
    return out


def collect_one(item: tuple[str, np.ndarray, date]) -> dict[str, Any] | None:
    """Backtest folds, chosen model and raw (uncalibrated) final forecast of one series."""
    sid, values, first = item
    config = RefreshConfig()
    train_n = len(values) - HOLDOUT_DAYS
    if train_n < config.min_history_days:
        return None
    train = DailyHistory(first, values[:train_n])
    fitted = fit_models(train, config.models, config)
    scores = [s for bt, _ in fitted.values() for s in score(bt, config.horizons)]
    chosen = choose(scores, config.selection_horizon, config.models)
    return {
        "series": sid,
        "chosen": chosen,
        "folds": {name: bt.folds for name, (bt, _) in fitted.items()},
        "raw": {name: raw for name, (_, raw) in fitted.items()},
        "actual": values[train_n:],
        "start": train.last_date + timedelta(days=1),
        "scale": seasonal_naive_mae(train.values),
        "nonneg": float(np.min(train.values)) >= 0,
    }


def service_calibration(folds: Sequence[Fold], raw: Prediction, start: date) -> Prediction:
    """What the service does now."""
    return apply(raw, fit_factors(folds, raw.horizon), start)


def score_variant(data: list[dict[str, Any]], calibrate: Calibrate) -> dict[int, tuple[float, ...]]:
    """Selected model's holdout coverage (80, 95) and share MASE<1 per horizon."""
    out: dict[int, list[tuple[float, float, float]]] = {h: [] for h in HORIZONS}
    for row in data:
        name = row["chosen"]
        if name not in row["raw"]:
            continue
        p = calibrate(row["folds"][name], row["raw"][name], row["start"])
        if row["nonneg"]:
            p = p.clipped(0.0)
        y = row["actual"]
        for h in HORIZONS:
            m = mase(y[:h], p.mean[:h], row["scale"])
            out[h].append(
                (
                    coverage(y[:h], p.lo80[:h], p.hi80[:h]),
                    coverage(y[:h], p.lo95[:h], p.hi95[:h]),
                    float(m < 1) if m is not None else np.nan,
                )
            )
    return {h: tuple(np.nanmean(np.array(v), axis=0)) for h, v in out.items()}


def _collect(seeds: list[int]) -> None:
    items = [item for seed in seeds for item in build_series(seed)]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        rows = list(tqdm(pool.map(collect_one, items), total=len(items), desc="series"))
    CACHE.parent.mkdir(exist_ok=True)
    CACHE.write_bytes(pickle.dumps({"seeds": seeds, "rows": [r for r in rows if r]}))


def _report(name: str, result: dict[int, tuple[float, ...]]) -> None:
    cells = " | ".join(
        f"{h}d {c80 * 100:.1f}% / {c95 * 100:.1f}% / {m * 100:.1f}%"
        for h, (c80, c95, m) in result.items()
    )
    print(f"{name:<28} {cells}")


def main() -> None:
    """``collect`` fits and caches; ``score`` prints each calibration variant."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("collect", "score"))
    parser.add_argument("--seeds", type=parse_seeds, default=[101, 102, 103, 104, 105])
    args = parser.parse_args()
    if args.command == "collect":
        _collect(args.seeds)
        return
    cache = pickle.loads(CACHE.read_bytes())
    if set(cache["seeds"]) & {1, 2, 3, 4, 5}:
        raise SystemExit("the cache holds reported seeds; collect validation seeds instead")
    print(f"seeds {cache['seeds']}, {len(cache['rows'])} series; cov80 / cov95 / MASE<1")
    _report("service (current)", score_variant(cache["rows"], service_calibration))


if __name__ == "__main__":
    main()
