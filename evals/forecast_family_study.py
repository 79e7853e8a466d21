"""Choosing forecast changes on the VALIDATION cost families only (issue 19).

Fits every model's backtest folds and raw final forecast once per validation
series and caches them; selection, ensemble and calibration variants are then
scored offline in seconds on the cached fits. It refuses reported families.

Run::

    python -m evals.forecast_family_study collect      # families A-C, seeds 1-3
    python -m evals.forecast_family_study score        # issue 19's second round
    python -m evals.forecast_family_study score --set ensemble   # the first round
"""

from __future__ import annotations

import argparse
import multiprocessing
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from evals.eval_forecast import HOLDOUT_DAYS
from evals.forecast_calibration_study import fit_models
from evals.forecast_families import FAMILY_SEEDS, family_series
from services.forecast.backtest import calibration
from services.forecast.backtest.calibration import apply, calibrated_folds, fit_factors
from services.forecast.backtest.metrics import coverage, mase, seasonal_naive_mae
from services.forecast.backtest.rolling import Fold
from services.forecast.engine.config import RefreshConfig
from services.forecast.models.base import DailyHistory, Prediction
from services.forecast.monthend.calibration import sum_factors
from services.forecast.monthend.projection import days_left_in_month, project_month_end
from simulator.cost_families import VALIDATION

CACHE = Path(".spendstream/forecast-family-study.pkl")
MODELS = ("seasonal_naive", "damped_holt", "prophet")
# Issue 19 candidates (autoarima: ~1 s a fit, measured apart, not collected).
NEW_MODELS = ("damped_holt_ms", "autotheta", "mstl", "autoets")
H = 30


def collect_one(item: tuple[str, np.ndarray, Any]) -> dict[str, Any] | None:
    """Every model's backtest folds and raw final forecast on one series' training days."""
    sid, values, first = item
    config = RefreshConfig()
    train_n = len(values) - HOLDOUT_DAYS
    if train_n < config.min_history_days:
        return None
    train = DailyHistory(first, values[:train_n])
    fitted = fit_models(train, (*MODELS, *NEW_MODELS), config)
    return {
        "series": sid,
        "train": train,
        "actual": values[train_n:],
        "folds": {name: bt.folds for name, (bt, _) in fitted.items()},
        "raw": {name: raw for name, (_, raw) in fitted.items()},
    }


def combine(preds: Sequence[Prediction]) -> Prediction:
    """Equal-weight mean of paths and of bounds (calibration then rescales the widths)."""
    return Prediction(
        *(np.mean([getattr(p, k) for p in preds], axis=0) for k in Prediction.__annotations__)
    )


def with_ensemble(row: dict[str, Any], members: Sequence[str], name: str) -> None:
    """Add an ensemble of ``members`` to a cached row (folds and raw forecast)."""
    if not all(m in row["folds"] for m in members):
        return
    per = [row["folds"][m] for m in members]
    row["folds"][name] = tuple(
        Fold(f[0].origin, f[0].start, f[0].actual, combine([x.prediction for x in f]), f[0].scale)
        for f in zip(*per, strict=True)
    )
    row["raw"][name] = combine([row["raw"][m] for m in members])


def fold_mase(folds: Sequence[Fold], h: int = H) -> float:
    """Mean over folds of MASE at days 1..h (what selection ranks)."""
    vals = [mase(f.actual[:h], f.prediction.mean[:h], f.scale) for f in folds]
    present = [v for v in vals if v is not None]
    return float(np.mean(present)) if present else np.inf


Chooser = Callable[[dict[str, Any]], str]
Calibrator = Callable[[Sequence[Fold], Prediction, Any], tuple[Prediction, Sequence[Fold]]]


def pick(candidates: Sequence[str], margin: float = 0.0) -> Chooser:
    """Lowest fold MASE among ``candidates`` (simplest first; ``margin`` to displace)."""

    def chooser(row: dict[str, Any]) -> str:
        have = [c for c in candidates if c in row["folds"]]
        best = have[0]
        for c in have[1:]:
            if fold_mase(row["folds"][c]) < fold_mase(row["folds"][best]) * (1 - margin):
                best = c
        return best

    return chooser


def service_cal(folds: Sequence[Fold], raw: Prediction, start: Any) -> tuple[Prediction, Any]:
    """Today's calibration."""
    factors = fit_factors(folds, raw.horizon)
    return apply(raw, factors, start), calibrated_folds(folds, factors)


def evaluate(rows: list[dict[str, Any]], chooser: Chooser, cal: Calibrator) -> tuple[float, ...]:
    """MASE@30<1 share, cov80@30, cov95@30, month-end 80% and 95% coverage."""
    out = []
    for row in rows:
        name = chooser(row)
        train, y = row["train"], row["actual"]
        start = train.last_date + timedelta(days=1)
        p, cfolds = cal(row["folds"][name], row["raw"][name], start)
        if float(np.min(train.values)) >= 0:
            p = p.clipped(0.0)
        _, remaining = days_left_in_month(train.last_date)
        me = project_month_end(train, p, sum_factors(cfolds, remaining))
        truth = float(y[:remaining].sum())
        m = mase(y[:H], p.mean[:H], seasonal_naive_mae(train.values))
        out.append(
            (
                float(m < 1) if m is not None else np.nan,
                coverage(y[:H], p.lo80[:H], p.hi80[:H]),
                coverage(y[:H], p.lo95[:H], p.hi95[:H]),
                float(me.lo80 <= truth <= me.hi80),
                float(me.lo95 <= truth <= me.hi95),
            )
        )
    return tuple(float(v) for v in np.nanmean(np.array(out), axis=0))


def _collect() -> None:
    items = [i for f in VALIDATION for s in FAMILY_SEEDS for i in family_series(f, s)]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        rows = list(tqdm(pool.map(collect_one, items), total=len(items), desc="series"))
    CACHE.parent.mkdir(exist_ok=True)
    CACHE.write_bytes(pickle.dumps({"families": VALIDATION, "rows": [r for r in rows if r]}))


def combine_rule(rule80: str) -> Callable[[Sequence[np.ndarray], float], float | None]:
    """A fold-combining rule for the 80% level (95% keeps today's maximum)."""

    def combine_folds(per_fold: Sequence[np.ndarray], level: float) -> float | None:
        qs = [float(np.quantile(s, level)) for s in per_fold if s.size]
        if not qs:
            return None
        if level > calibration.TAIL_LEVEL or rule80 == "max":
            return float(np.max(qs))
        if rule80 == "recent":  # widen when the latest fold's errors grew
            return float(max(np.median(qs), qs[-1]))
        if rule80 == "mean":
            return float(np.mean(qs))
        return float(np.median(qs))

    return combine_folds


def cal_with(rule80: str) -> Calibrator:
    """Today's calibration with another 80% fold rule."""

    def cal(folds: Sequence[Fold], raw: Prediction, start: Any) -> tuple[Prediction, Any]:
        saved = calibration._combine_folds
        calibration._combine_folds = combine_rule(rule80)  # type: ignore[assignment]
        try:
            return service_cal(folds, raw, start)
        finally:
            calibration._combine_folds = saved

    return cal


def variants() -> dict[str, tuple[Chooser, Calibrator]]:
    """The variants compared (name -> chooser, calibrator)."""
    plus_dh_p = (*MODELS, "ens_dh_p")
    plus_all = (*MODELS, "ens_all")
    out: dict[str, tuple[Chooser, Calibrator]] = {
        "today": (pick(MODELS), service_cal),
        "today margin 5%": (pick(MODELS, 0.05), service_cal),
        "today margin 10%": (pick(MODELS, 0.10), service_cal),
        "ens_all only": (pick(("ens_all",)), service_cal),
        "ens_dh_p only": (pick(("ens_dh_p",)), service_cal),
        "damped_holt only": (pick(("damped_holt",)), service_cal),
        "prophet only": (pick(("prophet",)), service_cal),
        "+ens_dh_p": (pick(plus_dh_p), service_cal),
        "+ens_all": (pick(plus_all), service_cal),
        "+ens_all margin 5%": (pick(plus_all, 0.05), service_cal),
    }
    for cands in (
        ("ens_dh_p", "prophet"),
        ("ens_dh_p", "damped_holt", "prophet"),
        ("ens_dh_p", "ens_all"),
        ("ens_all", "ens_dh_p"),
    ):
        for margin in (0.0, 0.1, 0.2):
            out[f"{'>'.join(cands)} m{margin:.0%}"] = (pick(cands, margin), service_cal)
    out["ens_dh_p only cal80=recent"] = (pick(("ens_dh_p",)), cal_with("recent"))
    for rule in ("max", "recent", "mean"):
        out[f"today cal80={rule}"] = (pick(MODELS), cal_with(rule))
        out[f"+ens_all cal80={rule}"] = (pick(plus_all), cal_with(rule))
    return out


#: Issue 19's second round: statsforecast models, the month-start term, the recent fold.
ENSEMBLES: dict[str, tuple[str, ...]] = {
    "ens_dh_p": ("damped_holt", "prophet"),
    "ens_all": MODELS,
    "ens_fast": ("seasonal_naive", "damped_holt", "damped_holt_ms"),  # ensemble_fast
    "ens_dh_dhms": ("damped_holt", "damped_holt_ms"),
    "ens_dh_dhms_theta": ("damped_holt", "damped_holt_ms", "autotheta"),
    "ens_dh_dhms_ets": ("damped_holt", "damped_holt_ms", "autoets"),
    "ens_dh_dhms_mstl": ("damped_holt", "damped_holt_ms", "mstl"),
    "ens_dhms_p": ("damped_holt_ms", "prophet"),
    "ens_dh_dhms_p": ("damped_holt", "damped_holt_ms", "prophet"),
}


def without_recent(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with only the three long folds (the recent fold is collected last)."""
    out = []
    for row in rows:
        folds = {m: tuple(f for f in fs if f.actual.shape[0] > H) for m, fs in row["folds"].items()}
        out.append({**row, "folds": folds})
    return out


def new_variants() -> dict[str, tuple[Chooser, Calibrator]]:
    """Single models, per-series selection over the new pool, and ensembles of it."""
    pool = ("seasonal_naive", "damped_holt", "damped_holt_ms", "autotheta", "mstl")
    out: dict[str, tuple[Chooser, Calibrator]] = {"today": (pick(MODELS), service_cal)}
    for name in (*MODELS, *NEW_MODELS):
        out[f"{name} only"] = (pick((name,)), service_cal)
    for label, cands in {
        "select pool": pool,
        "select pool+ets": (*pool, "autoets"),
        "select pool+prophet": (*pool, "prophet"),
    }.items():
        for margin in (0.0, 0.1):
            out[f"{label} m{margin:.0%}"] = (pick(cands, margin), service_cal)
    for ens in ENSEMBLES:
        for rule in ("median", "recent", "max"):
            out[f"{ens} cal80={rule}"] = (pick((ens,)), cal_with(rule))
    return out


def main() -> None:
    """``collect`` fits and caches the validation families; ``score`` prints each variant."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("collect", "score"))
    parser.add_argument("--set", choices=("new", "ensemble"), default="new")
    args = parser.parse_args()
    if args.command == "collect":
        _collect()
        return
    cache = pickle.loads(CACHE.read_bytes())
    if set(cache["families"]) - set(VALIDATION):
        raise SystemExit("the cache holds reported families; collect validation ones")
    rows = cache["rows"]
    for row in rows:
        for name, members in ENSEMBLES.items():
            with_ensemble(row, members, name)
    print(f"families {cache['families']}, {len(rows)} series")
    print("variant | MASE<1 | cov80 | cov95 | me80 | me95")
    views = {"3 folds": without_recent(rows), "3 folds + recent": rows}
    for label, view in views.items():
        print(f"== {label}")
        chosen = new_variants() if args.set == "new" else variants()
        for name, (chooser, cal) in chosen.items():
            r = evaluate(view, chooser, cal)
            per = "  ".join(
                f"{f}:" + "/".join(f"{v * 100:.0f}" for v in evaluate(mine, chooser, cal)[:4:])
                for f in VALIDATION
                if (mine := [x for x in view if x["series"][0] == f])
            )
            print(f"{name:<36} " + " | ".join(f"{v * 100:.1f}%" for v in r) + "   " + per)


if __name__ == "__main__":
    main()
