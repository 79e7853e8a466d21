"""Families of daily cost series shaped unlike the main simulator, for forecast evals.

The main simulator (``simulate_organisation``) has one generator; forecasting
choices tuned on it overfit it (issue 19). Each family here is a set of
parameter *ranges*; a seed draws one small organisation from a family
(``ACCOUNTS`` accounts x ``SERVICES`` services; the account series are the sums
of their services). A service's daily cost is

    level x regime(t) x weekly(t) x holiday(t) x noise(t)
      + month-start charge  (+ anomaly)  (+ late credit)

* **noise**: log-AR(1) (``phi``) with Gaussian or Student-t (heavy-tailed) shocks;
* **regime**: ``flat``; ``growth`` (compounding); ``decline``; ``step`` (level x m
  at a changepoint, up or down); ``kink`` (growth rate changes at a changepoint);
* **weekly**: ``weekend`` (Sat/Sun x w < 1), ``weekend_up`` (consumer, w > 1),
  ``flat``, ``business`` (Mon-Fri office profile, near-idle weekends);
* **month start**: a share of services posts a fixed monthly fee on each 1st;
* **holidays**: fixed dates at which weekday-shaped services drop to the weekend level;
* **new / retired**: a service starts (ramping up) late in the history, or drops to a
  small residual at a day inside it;
* **anomaly**: a multi-day spike on one service, inside ``[FORECAST_DAY, +60)``;
* **late credit / restatement**: one day inside the forecast window carries a credit
  of several days' cost (the day may be negative).

Changepoints, new and retired services fall in the history (days 90-340 of 455);
anomalies and credits fall in the last 90 days (the eval's forecast window). All
randomness comes from ``numpy.random.default_rng([family index, seed])``.

Families A-C are **validation** (choose models and constants on them only), D-F
are **reported** (the eval's headline). Every mechanism appears on both sides with
different ranges or combinations, so a choice tuned on one side is tested on
conditions it did not see:

=== ========== ============================================================
 A  validation steady SaaS: low Gaussian noise, growth/flat, weekend dip, fees
 B  validation volatile platform: heavy tails, steps, business hours, new services
 C  validation shrinking estate: declines, retirements, large fees, holidays, credits
 D  reported   consumer: weekend peaks, kinks, moderate noise, anomalies + credits
 E  reported   batch / ML: very heavy tails, flat weeks, steps up and down, new services
 F  reported   enterprise: business hours, holidays, declines, retirements, restatements
=== ========== ============================================================

>>> org = family_organisation("A", seed=1)
>>> len(org), org[0][0]
(15, 'A1/acct0')
>>> bool((family_organisation("A", 1)[3][1] == org[3][1]).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

START = date(2025, 1, 1)
DAYS = 455
#: First day of the eval's forecast window (2026-01-01, a month's first day).
FORECAST_DAY = 365
ACCOUNTS = 3
SERVICES = 4
#: Days where structural changes (changepoints, new, retired) may fall.
CHANGE_WINDOW = (90, 340)


@dataclass(frozen=True)
class Family:
    """Parameter ranges of one family (each ``(lo, hi)`` is drawn uniformly)."""

    name: str
    split: str  # "validation" or "reported"
    about: str
    level: tuple[float, float] = (20.0, 2000.0)  # $/day, log-uniform
    noise: tuple[float, float] = (0.03, 0.10)  # log-sd of the daily noise
    noise_phi: tuple[float, float] = (0.3, 0.6)
    tail_df: float | None = None  # Student-t shocks when set
    regimes: tuple[str, ...] = ("flat", "growth")
    growth: tuple[float, float] = (0.0005, 0.003)  # per day
    step: tuple[float, float] = (0.5, 2.0)  # level multiplier at a step
    weekly: tuple[str, ...] = ("weekend", "flat")
    weekend: tuple[float, float] = (0.6, 0.9)
    month_fee_p: float = 0.3  # share of services with a monthly fee on the 1st
    month_fee_days: tuple[float, float] = (2.0, 8.0)  # fee in days of usage
    holidays: tuple[tuple[int, int], ...] = ()
    new_p: float = 0.0
    retire_p: float = 0.0
    history_anomaly_p: float = 0.0  # per service, a spike inside the history
    anomaly_p: float = 0.0  # per account, a spike in the forecast window
    anomaly_size: tuple[float, float] = (1.5, 4.0)
    credit_p: float = 0.0  # per account, a late credit in the forecast window
    credit_days: tuple[float, float] = (1.0, 5.0)


_XMAS = ((12, 24), (12, 25), (12, 26), (12, 31), (1, 1))
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("A", "validation", "steady SaaS", history_anomaly_p=0.1, anomaly_p=0.3),
        Family(
            "B",
            "validation",
            "volatile platform",
            noise=(0.10, 0.30),
            tail_df=4.0,
            regimes=("step", "growth", "flat"),
            weekly=("business", "weekend"),
            weekend=(0.3, 0.7),
            new_p=0.2,
            history_anomaly_p=0.2,
            anomaly_p=0.5,
        ),
        Family(
            "C",
            "validation",
            "shrinking estate",
            noise=(0.05, 0.15),
            regimes=("decline", "flat", "step"),
            growth=(0.0005, 0.002),
            step=(0.4, 0.9),
            month_fee_p=0.6,
            weekly=("business", "weekend", "flat"),
            weekend=(0.3, 0.8),
            month_fee_days=(5.0, 20.0),
            holidays=(*_XMAS, (7, 4), (11, 27)),
            retire_p=0.15,
            credit_p=0.5,
        ),
        Family(
            "D",
            "reported",
            "consumer",
            noise=(0.06, 0.18),
            regimes=("kink", "growth", "flat"),
            growth=(0.001, 0.004),
            weekly=("weekend_up", "flat"),
            weekend=(1.1, 1.5),
            month_fee_p=0.2,
            history_anomaly_p=0.15,
            anomaly_p=0.5,
            credit_p=0.4,
        ),
        Family(
            "E",
            "reported",
            "batch / ML",
            noise=(0.15, 0.40),
            noise_phi=(0.0, 0.4),
            tail_df=3.0,
            regimes=("step", "flat", "decline"),
            step=(0.3, 3.0),
            weekly=("flat", "weekend"),
            weekend=(0.5, 0.9),
            month_fee_p=0.1,
            new_p=0.3,
            history_anomaly_p=0.25,
            anomaly_p=0.4,
        ),
        Family(
            "F",
            "reported",
            "enterprise",
            noise=(0.03, 0.12),
            regimes=("decline", "kink", "flat"),
            weekly=("business",),
            weekend=(0.15, 0.4),
            month_fee_p=0.5,
            month_fee_days=(3.0, 15.0),
            holidays=(*_XMAS, (5, 1), (12, 8), (8, 15)),
            retire_p=0.2,
            new_p=0.1,
            credit_p=0.6,
        ),
    )
}
VALIDATION = tuple(n for n, f in FAMILIES.items() if f.split == "validation")
REPORTED = tuple(n for n, f in FAMILIES.items() if f.split == "reported")
# Office profile Mon..Sun (weekend level replaced by the family's draw).
_BUSINESS = np.array([1.0, 1.05, 1.05, 1.03, 0.9, 0.0, 0.0])


def _calendar() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dates = [START + timedelta(days=i) for i in range(DAYS)]
    weekday = np.array([d.weekday() for d in dates])
    first = np.array([d.day == 1 for d in dates])
    md = np.array([d.month * 100 + d.day for d in dates])
    return weekday, first, md


def _noise(fam: Family, rng: np.random.Generator) -> np.ndarray:
    sigma, phi = rng.uniform(*fam.noise), rng.uniform(*fam.noise_phi)
    if fam.tail_df is None:
        shocks = rng.standard_normal(DAYS)
    else:  # unit-variance Student-t: rare days far from the rest
        shocks = rng.standard_t(fam.tail_df, DAYS) / np.sqrt(fam.tail_df / (fam.tail_df - 2))
    ar = np.empty(DAYS)
    ar[0] = shocks[0]
    for i in range(1, DAYS):
        ar[i] = phi * ar[i - 1] + np.sqrt(1 - phi**2) * shocks[i]
    return np.asarray(np.exp(np.clip(sigma * ar, -3, 3) - sigma**2 / 2))


def _regime(fam: Family, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(DAYS, dtype=float)
    kind = str(rng.choice(fam.regimes))
    g, cp = rng.uniform(*fam.growth), int(rng.integers(*CHANGE_WINDOW))
    if kind == "growth":
        return np.exp(g * t)
    if kind == "decline":
        return np.exp(-g * t)
    if kind == "step":
        return np.where(t < cp, 1.0, rng.uniform(*fam.step))
    if kind == "kink":  # growth that stalls, or flat that takes off
        g2 = rng.choice([0.0, 2 * g])
        return np.exp(np.where(t < cp, g * t, g * cp + g2 * (t - cp)))
    return np.ones(DAYS)


def _weekly(fam: Family, weekday: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    kind, w = str(rng.choice(fam.weekly)), rng.uniform(*fam.weekend)
    weekend = weekday >= 5
    if kind == "business":
        return np.where(weekend, w, _BUSINESS[weekday])
    if kind in ("weekend", "weekend_up"):
        return np.where(weekend, w, 1.0)
    return np.ones(DAYS)


def _service(
    fam: Family, rng: np.random.Generator, spikes: list[tuple[int, int]] | None = None
) -> np.ndarray:
    weekday, first, md = _calendar()
    level = float(np.exp(rng.uniform(*np.log(fam.level))))
    weekly = _weekly(fam, weekday, rng)
    holiday = np.isin(md, [m * 100 + d for m, d in fam.holidays])
    weekly = np.where(holiday, np.minimum(weekly, weekly[weekday >= 5].min(initial=1.0)), weekly)
    y = level * _regime(fam, rng) * weekly * _noise(fam, rng)
    if rng.random() < fam.month_fee_p:
        y = y + np.where(first, level * rng.uniform(*fam.month_fee_days), 0.0)
    if rng.random() < fam.history_anomaly_p:
        at = int(rng.integers(30, FORECAST_DAY - 5))
        end = at + int(rng.integers(1, 6))
        y[at:end] *= rng.uniform(*fam.anomaly_size)
        if spikes is not None:
            spikes.append((at, end))
    if rng.random() < fam.new_p:  # appears late, ramps up over two to four weeks
        born, ramp = int(rng.integers(*CHANGE_WINDOW)), int(rng.integers(14, 29))
        y = y * np.clip((np.arange(DAYS) - born) / ramp, 0.0, 1.0)
    elif rng.random() < fam.retire_p:  # retired: a small residual stays (snapshots, logs)
        gone = int(rng.integers(*CHANGE_WINDOW))
        y[gone:] *= rng.uniform(0.02, 0.1)
    return y


def _account(
    fam: Family, rng: np.random.Generator, spikes: list[list[tuple[int, int]]] | None = None
) -> list[np.ndarray]:
    logs: list[list[tuple[int, int]]] = [[] for _ in range(SERVICES)]
    services = [_service(fam, rng, logs[s]) for s in range(SERVICES)]
    if spikes is not None:
        spikes.extend(logs)
    if rng.random() < fam.anomaly_p:
        s, at = int(rng.integers(SERVICES)), FORECAST_DAY + int(rng.integers(3, 60))
        services[s][at : at + int(rng.integers(1, 6))] *= rng.uniform(*fam.anomaly_size)
    if rng.random() < fam.credit_p:
        s, at = int(rng.integers(SERVICES)), FORECAST_DAY + int(rng.integers(5, 85))
        daily = float(np.median(services[s][FORECAST_DAY - 30 : FORECAST_DAY]))
        services[s][at] -= daily * rng.uniform(*fam.credit_days)
    return services


def family_organisation(name: str, seed: int) -> list[tuple[str, np.ndarray]]:
    """(series id, ``DAYS`` daily costs from ``START``): account totals, then services."""
    fam = FAMILIES[name]
    rng = np.random.default_rng([list(FAMILIES).index(name), seed])
    accounts = [_account(fam, rng) for _ in range(ACCOUNTS)]
    out = [(f"{name}{seed}/acct{a}", np.sum(svcs, axis=0)) for a, svcs in enumerate(accounts)]
    for a, svcs in enumerate(accounts):
        out += [(f"{name}{seed}/acct{a}/svc{s}", v) for s, v in enumerate(svcs)]
    return out


def family_history_anomalies(name: str, seed: int) -> dict[str, list[tuple[int, int]]]:
    """The spikes injected inside the history, as [start, end) day indices per series.

    Generated with the same draws as :func:`family_organisation` (its values are
    unchanged); an account series holds its services' spikes. All of them end
    before ``FORECAST_DAY``, so a detector could have seen each one.

    >>> spikes = family_history_anomalies("B", 1)
    >>> all(end <= FORECAST_DAY for w in spikes.values() for _, end in w)
    True
    """
    fam = FAMILIES[name]
    rng = np.random.default_rng([list(FAMILIES).index(name), seed])
    out: dict[str, list[tuple[int, int]]] = {}
    for a in range(ACCOUNTS):
        logs: list[list[tuple[int, int]]] = []
        _account(fam, rng, logs)
        out[f"{name}{seed}/acct{a}"] = sorted(w for log in logs for w in log)
        out.update({f"{name}{seed}/acct{a}/svc{s}": log for s, log in enumerate(logs)})
    return out
