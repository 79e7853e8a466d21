"""One series' full refresh: backtest every model, pick one, forecast, project the month.

``refresh_series`` is a top-level pure function so a process pool can run it;
its job and result pickle (numpy arrays and pydantic models).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from services.forecast.backtest.calibration import (
    Factors,
    apply,
    calibrated_folds,
    fit_factors,
    leave_one_out,
)
from services.forecast.backtest.rolling import (
    BacktestPlan,
    Fold,
    ModelBacktest,
    plan_origins,
    run_backtest,
)
from services.forecast.backtest.scoring import score
from services.forecast.engine.config import MonthEndRule, RefreshConfig
from services.forecast.engine.ensemble import ENSEMBLES, combine, ensemble_backtest
from services.forecast.engine.incidents import IncidentWindow, impute, incident_mask
from services.forecast.exceptions import InsufficientHistoryError, ModelFitError
from services.forecast.models.base import DailyHistory, Prediction
from services.forecast.models.registry import build_model
from services.forecast.monthend.calibration import SumRule, sum_factors
from services.forecast.monthend.projection import days_left_in_month, project_month_end
from services.forecast.selection.select import choose
from shared.events.base import stable_id
from shared.events.forecasts import (
    BacktestScore,
    Forecast,
    ForecastPoint,
    HistoryIncident,
    MonthEndProjection,
)


@dataclass(frozen=True)
class RefreshJob:
    """Everything a worker needs for one series."""

    series_id: str
    account_id: str
    service: str | None
    history: DailyHistory
    config: RefreshConfig
    generated_at: datetime
    # Open or recent incident windows of this series (engine/incidents.py).
    incidents: tuple[IncidentWindow, ...] = ()


@dataclass(frozen=True)
class ModelOutcome:
    """One model's backtest, scores, factors and (optionally) final calibrated forecast."""

    backtest: ModelBacktest
    scores: list[BacktestScore]
    factors: Factors | None
    forecast: Prediction | None = None


@dataclass(frozen=True)
class SeriesOutcome:
    """Every model's outcome on one series and the chosen model's name."""

    plan: BacktestPlan
    chosen: str
    models: dict[str, ModelOutcome] = field(default_factory=dict)


def _raw_forecast(name: str, history: DailyHistory, config: RefreshConfig) -> Prediction:
    if name in ENSEMBLES:
        return combine([_raw_forecast(m, history, config) for m in ENSEMBLES[name]])
    model = build_model(name, config.prophet_uncertainty_samples, config.seed)
    return model.fit(history).predict(config.max_horizon)


def _final_forecast(
    name: str, history: DailyHistory, factors: Factors, config: RefreshConfig
) -> Prediction:
    start = history.last_date + timedelta(days=1)
    prediction = apply(_raw_forecast(name, history, config), factors, start)
    if float(np.min(history.values)) >= 0:  # a non-negative cost series stays so
        prediction = prediction.clipped(0.0)
    return prediction


def evaluate_series(
    history: DailyHistory, config: RefreshConfig, forecast_all: bool = False
) -> SeriesOutcome:
    """Backtest all models, choose one, and fit the final forecast(s).

    ``forecast_all`` fits every model on the full history (the eval compares
    them); the service fits only the chosen one.
    """
    plan = plan_origins(
        len(history),
        config.folds,
        config.max_horizon,
        config.fold_step_days,
        config.min_train_days,
        config.recent_fold_days,
    )
    outcomes: dict[str, ModelOutcome] = {}
    for name in config.models:
        if name in ENSEMBLES:
            members = ENSEMBLES[name]
            have = all(m in outcomes for m in members)  # listed before it, as in settings
            ens = ensemble_backtest(name, [outcomes[m].backtest for m in members]) if have else None
            bt = ens or ModelBacktest(name, (), error="an ensemble member has no backtest")
        else:
            model = build_model(name, config.prophet_uncertainty_samples, config.seed)
            bt = run_backtest(model, history, plan)
        ok = bt.error is None and bt.folds
        outcomes[name] = ModelOutcome(
            backtest=bt,
            scores=score(bt, config.horizons, config.recent_floor80) if ok else [],
            factors=fit_factors(bt.folds, config.max_horizon, config.recent_floor80)
            if ok
            else None,
        )
    all_scores = [s for o in outcomes.values() for s in o.scores]
    first = [s for s in all_scores if s.model in config.candidates]
    chosen = choose(first or all_scores, config.selection_horizon, config.models)
    for name in config.models if forecast_all else (chosen,):
        _fit_final(name, history, config, outcomes)
    # Should the winner's final fit fail, the next best model that fits stands in.
    remaining = list(config.models)
    while outcomes[chosen].forecast is None and len(remaining) > 1:
        remaining.remove(chosen)
        rest = [s for s in all_scores if s.model in remaining]
        if not rest:
            break
        chosen = choose(rest, config.selection_horizon, remaining)
        _fit_final(chosen, history, config, outcomes)
    return SeriesOutcome(plan=plan, chosen=chosen, models=outcomes)


def _fit_final(
    name: str, history: DailyHistory, config: RefreshConfig, outcomes: dict[str, ModelOutcome]
) -> None:
    outcome = outcomes[name]
    if outcome.factors is None or outcome.forecast is not None:
        return
    try:
        pred = _final_forecast(name, history, outcome.factors, config)
    except ModelFitError:
        return
    outcomes[name] = ModelOutcome(outcome.backtest, outcome.scores, outcome.factors, pred)


def month_end_for(
    history: DailyHistory,
    outcome: ModelOutcome,
    rule: MonthEndRule = "pooled",
    recent_floor: bool = False,
) -> MonthEndProjection | None:
    """A model's month-end projection, its interval calibrated on its backtest folds."""
    if outcome.forecast is None or outcome.factors is None:
        return None
    _, remaining = days_left_in_month(history.last_date)
    raw_folds = outcome.backtest.folds
    if rule.startswith("loo") and len(raw_folds) > 1:
        folds = [
            Fold(f.origin, f.start, f.actual, p, f.scale, f.recent)
            for f, p in zip(raw_folds, leave_one_out(raw_folds, recent_floor), strict=True)
        ]
    else:
        folds = calibrated_folds(raw_folds, outcome.factors)
    sum_rule: SumRule = "fold_max" if rule.endswith("fold_max") else "pooled"
    return project_month_end(history, outcome.forecast, sum_factors(folds, remaining, sum_rule))


def _points(history: DailyHistory, p: Prediction, horizon: int) -> list[ForecastPoint]:
    start = history.last_date + timedelta(days=1)
    return [
        ForecastPoint(
            date=start + timedelta(days=i),
            yhat=float(p.mean[i]),
            lo80=float(p.lo80[i]),
            hi80=float(p.hi80[i]),
            lo95=float(p.lo95[i]),
            hi95=float(p.hi95[i]),
        )
        for i in range(horizon)
    ]


def history_incidents(
    history: DailyHistory, windows: tuple[IncidentWindow, ...], config: RefreshConfig
) -> list[HistoryIncident]:
    """The windows that fall inside ``history``, each with the days of it imputed."""
    out = []
    for w in windows:
        first, last = w.days(history.last_date)
        if not len(history) or last < history.start or first > history.last_date:
            continue
        imputed = int(incident_mask(history, (w,), config.impute).sum())
        out.append(
            HistoryIncident(
                incident_id=w.incident_id,
                source=w.source,
                start=w.start,
                end=w.end,
                imputed_days=imputed,
            )
        )
    return out


def refresh_series(job: RefreshJob) -> Forecast:
    """The Forecast event for one series (``insufficient_history`` when too short).

    Models, backtests and calibration are fitted on the history with its incident
    days imputed; the month-to-date actual is the real one.
    """
    raw, config = job.history, job.config
    history, _ = impute(raw, job.incidents, config.impute)
    base = {
        "series_id": job.series_id,
        "account_id": job.account_id,
        "service": job.service,
        "history_days": len(history),
        "last_date": history.last_date if len(history) else None,
        "generated_at": job.generated_at,
        "history_incidents": history_incidents(raw, job.incidents, config),
    }
    event_id = stable_id("forecast", job.series_id, base["last_date"], job.generated_at)
    try:
        if len(history) < config.min_history_days:
            raise InsufficientHistoryError(
                f"{len(history)} days of history; forecasts start at {config.min_history_days}"
            )
        outcome = evaluate_series(history, config)
    except InsufficientHistoryError as exc:
        return Forecast(id=event_id, status="insufficient_history", reason=str(exc), **base)
    chosen = outcome.models[outcome.chosen]
    if chosen.forecast is None:
        return Forecast(
            id=event_id,
            status="insufficient_history",
            reason=f"the chosen model {outcome.chosen} failed its final fit",
            **base,
        )
    return Forecast(
        id=event_id,
        status="ok",
        model=outcome.chosen,
        horizons={h: _points(history, chosen.forecast, h) for h in config.horizons},
        backtest=[s for o in outcome.models.values() for s in o.scores],
        month_end=month_end_for(raw, chosen, config.monthend_calibration, config.recent_floor80),
        **base,
    )
