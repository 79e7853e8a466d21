"""Commitment purchases against hindsight on simulated fleets (``make eval-commitments``).

For each seed the simulator builds a fleet (steady and autoscaled groups) and
the RIs and Savings Plans its accounts hold (``simulator/commitments.py``),
120 days of hours. At each decision day (60 and 90) the service's
recommender (``services.rightsizing.commitments.recommend``, the code the
service runs on its CUR sums) chooses a Compute Savings Plan and standard RIs
on each lookback (7/30/60 days) of On-Demand usage no held commitment covers;
the choice is then held over the *next* 30 days, which the recommender never
saw. Scored per account and summed: realised net savings beside the best
commitment chosen with knowledge of those 30 days (hindsight), and two simple
policies on the same lookback — cover the lowest hour, cover the mean hour.
The recommender's risk margin (``MIN_MARGINAL_USE``) is chosen on validation
seeds only, by a sweep over a grid; held-out seeds are then scored once with
the service's constant, beside the optimum without a margin.
Writes ``docs/commitments-eval.md`` and ``docs/commitments-eval.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from services.rightsizing.catalogue.files import DEFAULT_PRICES_PATH
from services.rightsizing.commitments.optimiser import evaluate, optimise
from services.rightsizing.commitments.recommend import (
    MIN_MARGINAL_USE,
    recommend,
    unpriced_products,
)
from services.rightsizing.commitments.usage import AccountUsage
from shared.ec2_prices import COLUMNS as PRICE_COLUMNS
from shared.ec2_prices import PriceTable
from shared.events.commitments import Product
from simulator import SimConfig, simulate_organisation
from simulator.commitments import CommitmentWorld, build_world, uncovered_on_demand

ROOT = Path(__file__).resolve().parent.parent
# Floors are chosen on the validation seeds only; the held-out seeds are then
# scored once with the service's constant. Seeds 1-3 are the earlier table's.
VALIDATION_SEEDS = (11, 12, 13, 14)
SEEDS = (1, 2, 3, 4, 5, 6)
FLOOR_GRID = (0.0, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95)
PRODUCTS: tuple[Product, ...] = ("compute_sp", "standard_ri")
INSTANCES = 200
ACCOUNTS = 4
DAYS = 120
DECISION_DAYS = (60, 90)
HOLDOUT_DAYS = 30
LOOKBACKS = (7, 30, 60)
TERM = 1  # 1-year rates; the 3-year choice scales the same curve by a deeper discount
TARGETS = {"ratio": 0.90, "utilisation": 0.95}


def account_usage(world: CommitmentWorld, left: np.ndarray, account: str) -> AccountUsage:
    """One account's hours as the tracker would sum them.

    Every instance hour's On-Demand cost (``eligible``, which dates the history)
    and the uncovered On-Demand hours per type.
    """
    usage = AccountUsage()
    first = int(world.start.timestamp()) // 3600
    hours = left.shape[1]
    mine = [g for g, m in enumerate(world.members) if m.account_id == account]
    billed = (world.counts[mine, :hours] * world.on_demand[mine, None]).sum(axis=0)
    usage.eligible = {first + h: float(v) for h, v in enumerate(billed) if v > 0}
    for g, member in enumerate(world.members):
        if member.account_id != account:
            continue
        cells = usage.on_demand.setdefault(world.key(g), {})
        for h in np.flatnonzero(left[g] > 0):
            n = float(left[g, h])
            cell = cells.setdefault(first + int(h), [0.0, 0.0])
            cell[0] += n
            cell[1] += n * float(world.on_demand[g])
    return usage


def _curves(
    world: CommitmentWorld, left: np.ndarray, groups: list[int], lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray]:
    od = (left[groups, lo:hi] * world.on_demand[groups, None]).sum(axis=0)
    committed = (left[groups, lo:hi] * world.sp_rate[TERM][groups, None]).sum(axis=0)
    return od, committed


Sums = dict[str, float]  # net_savings, used, paid
Floors = Mapping[Product, float] | None  # None: the service's own MIN_MARGINAL_USE


def score_decision(
    world: CommitmentWorld, left: np.ndarray, account: str, day: int, floors: dict[str, Floors]
) -> dict[int, dict[str, dict[str, Sums]]]:
    """Net savings and utilisation on the holdout, per lookback, product and policy.

    ``floors`` names the recommender's runs (one per utilisation floor); the
    simple policies and hindsight are added to each lookback.
    """
    table = world.price_table()
    first = int(world.start.timestamp()) // 3600
    decided = day * 24
    usage = account_usage(world, left[:, :decided], account)
    recs = {
        name: recommend(usage, table, LOOKBACKS, first + decided - 1, min_marginal_use=f)
        for name, f in floors.items()
    }
    groups = [g for g, m in enumerate(world.members) if m.account_id == account]
    hold = (decided, decided + HOLDOUT_DAYS * 24)
    od_h, cm_h = _curves(world, left, groups, *hold)
    sp_hindsight = optimise(od_h, cm_h).commitment
    keys = sorted({world.key(g) for g in groups})
    out: dict[int, dict[str, dict[str, Sums]]] = {}
    for lookback in LOOKBACKS:
        look = (decided - lookback * 24, decided)
        # Compute Savings Plan: one commitment over the account's usage.
        _, cm_l = _curves(world, left, groups, *look)
        levels = {"min_hour": float(cm_l.min()), "mean_hour": float(cm_l.mean()),
                  "hindsight": sp_hindsight}  # fmt: skip
        for name, rs in recs.items():
            sp = next((r for r in rs if r.product == "compute_sp" and r.term_years == TERM
                       and r.lookback_days == lookback), None)  # fmt: skip
            levels[name] = sp.hourly_commitment if sp else 0.0
        by_product = {"compute_sp": _scored(levels, od_h, cm_h)}
        # Standard RIs: per type, summed.
        ri = {
            name: {
                (r.region, r.operating_system, r.instance_type): r.quantity or 0
                for r in rs
                if r.product == "standard_ri" and r.term_years == TERM
                and r.lookback_days == lookback
            }
            for name, rs in recs.items()
        }  # fmt: skip
        totals: dict[str, Sums] = {}
        for key in keys:
            members = [g for g in groups if world.key(g) == key]
            rate = float(world.ri_rate[TERM][members[0]])
            od = (left[members, hold[0] : hold[1]] * world.on_demand[members, None]).sum(axis=0)
            count_h = left[members, hold[0] : hold[1]].sum(axis=0)
            count_l = left[members, look[0] : look[1]].sum(axis=0)
            cm = count_h * rate
            region, os, _, itype = key
            n = {
                "min_hour": int(np.floor(count_l.min())),
                "mean_hour": int(np.round(count_l.mean())),
                "hindsight": round(optimise(od, cm, unit=rate).commitment / rate),
            }
            n.update({name: got.get((region, os, itype), 0) for name, got in ri.items()})
            for name, scored in _scored({k: v * rate for k, v in n.items()}, od, cm).items():
                _add(totals.setdefault(name, _zero()), scored)
        by_product["standard_ri"] = totals
        out[lookback] = by_product
    return out


def _zero() -> Sums:
    return {"net_savings": 0.0, "used": 0.0, "paid": 0.0}


def _add(acc: Sums, more: Sums) -> None:
    for f in acc:
        acc[f] += more[f]


def _scored(levels: dict[str, float], od: np.ndarray, cm: np.ndarray) -> dict[str, Sums]:
    scored: dict[str, Sums] = {}
    for name, level in levels.items():
        o = evaluate(level, od, cm)
        scored[name] = {
            "net_savings": o.net_savings,
            "used": o.used_commitment,
            "paid": o.commitment * o.hours,
        }
    return scored


def run_seed(seed: int, instances: int, floors: dict[str, Floors]) -> dict[str, Any]:
    """Every account, decision day and lookback of one seed, summed per policy."""
    org = simulate_organisation(
        SimConfig(seed=seed, accounts=ACCOUNTS, days=30, instances=instances, cost_anomalies=0)
    )
    t0 = time.perf_counter()
    world = build_world(org.fleet, date(2026, 1, 1), DAYS, seed=seed)
    left = uncovered_on_demand(world)
    accounts = sorted({m.account_id for m in world.members})
    sums: dict[int, dict[str, dict[str, Sums]]] = {}
    for day in DECISION_DAYS:
        for account in accounts:
            for lookback, products in score_decision(world, left, account, day, floors).items():
                for product, by_policy in products.items():
                    for policy, s in by_policy.items():
                        acc = sums.setdefault(lookback, {}).setdefault(product, {})
                        _add(acc.setdefault(policy, _zero()), s)
    rows = {
        str(lookback): {
            product: {
                policy: {
                    "net_savings": round(s["net_savings"], 2),
                    "utilisation": round(s["used"] / s["paid"], 4) if s["paid"] else None,
                    "ratio": round(s["net_savings"] / by["hindsight"]["net_savings"], 4)
                    if by["hindsight"]["net_savings"] > 0
                    else None,
                }
                for policy, s in by.items()
            }
            for product, by in products.items()
        }
        for lookback, products in sums.items()
    }
    return {
        "seed": seed,
        "instances": instances,
        "accounts": len(accounts),
        "held_commitments": len(world.held),
        "lookbacks": rows,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _meets(row: dict[str, float | None]) -> bool:
    u, r = row["utilisation"], row["ratio"]
    return (u is None or u >= TARGETS["utilisation"]) and (r is None or r >= TARGETS["ratio"])


def choose_floors(validation: list[dict[str, Any]]) -> dict[str, Any]:
    """Per product, the lowest grid floor meeting both targets on every validation row.

    The lowest feasible floor buys the most; if none meets them, the floor with
    the best worst-row utilisation is taken and marked not met.
    """
    chosen: dict[str, Any] = {}
    for product in PRODUCTS:
        stats = []
        for t in FLOOR_GRID:
            rows = [s["lookbacks"][lb][product][_grid(t)] for s in validation
                    for lb in s["lookbacks"]]  # fmt: skip
            utils = [r["utilisation"] for r in rows if r["utilisation"] is not None]
            ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
            stats.append({
                "floor": t,
                "met": all(_meets(r) for r in rows),
                "min_utilisation": min(utils, default=None),
                "min_ratio": min(ratios, default=None),
                "mean_ratio": round(float(np.mean(ratios)), 4) if ratios else None,
            })  # fmt: skip
        met = [s for s in stats if s["met"]]
        best = met[0] if met else max(stats, key=lambda s: s["min_utilisation"] or 0.0)
        chosen[product] = {"floor": best["floor"], "met": bool(met), "grid": stats}
    return chosen


def _grid(t: float) -> str:
    return f"floor {t:.2f}"


def ec2_instance_sp_note() -> str:
    """Why EC2 Instance Savings Plans are not scored: what the price data holds."""
    columns = [c for c in PRICE_COLUMNS if "instance_sp" in c]
    shipped = DEFAULT_PRICES_PATH.exists()
    reason = next(u.reason for u in unpriced_products(PriceTable())
                  if u.product == "ec2_instance_sp")  # fmt: skip
    return (
        "EC2 Instance Savings Plans are not evaluated and no rates are invented for them: "
        f"the price file format (`shared/ec2_prices.py`) has {len(columns) or 'no'} EC2 "
        "Instance SP rate column(s), and "
        + ("a refreshed price file is present" if shipped else
           "no price file is shipped (`ec2_prices.csv.gz` is written by `spendstream "
           "rightsizing prices refresh`; the shipped catalogue holds On-Demand Linux only)")
        + f". The service lists them as unpriced: \"{reason}\". Partial- and all-upfront "
        "options are unpriced the same way."
    )  # fmt: skip


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _totals(seeds: list[dict[str, Any]], product: str, policy: str) -> float:
    return sum(s["lookbacks"][lb][product][policy]["net_savings"] for s in seeds
               for lb in s["lookbacks"])  # fmt: skip


def write_report(
    seeds: list[dict[str, Any]],
    validation: list[dict[str, Any]],
    chosen: dict[str, Any],
    command: str,
    out: Path,
) -> None:
    """Markdown and JSON next to each other under docs/."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    shipped = {p: MIN_MARGINAL_USE.get(p, 0.0) for p in PRODUCTS}
    lines = [
        "# Commitment recommendations against hindsight",
        "",
        f"Command: `{command}` (generated {now}; load average {load} on 2 shared cores).",
        "",
        f"Simulated fleets (`simulator/commitments.py`): {INSTANCES} instances in {ACCOUNTS} "
        f"accounts, {DAYS} days of hours, about half of them autoscaled groups; every account "
        "already holds RIs and a Compute Savings Plan for part of its fleet. At days "
        f"{' and '.join(map(str, DECISION_DAYS))} the recommender chooses a 1-year no-upfront "
        "Compute Savings Plan and standard RIs on each lookback of uncovered On-Demand usage; "
        f"the choice is held over the next {HOLDOUT_DAYS} days (never seen). Per account, "
        "summed over accounts and both decision days. *ratio* = realised net savings / "
        "net savings of the best commitment chosen knowing those days (hindsight); "
        "*min hour* / *mean hour* commit to the lookback's lowest / average hourly usage.",
        "",
        f"Targets: ratio >= {TARGETS['ratio']:.0%}, utilisation >= {TARGETS['utilisation']:.0%}.",
        "Rates are the simulator's (compute SP ~28% off, RIs ~38% off 1-year, varied by family):",
        "a real price file gives the same decision on the real rates.",
        "",
        ec2_instance_sp_note(),
        "",
        "Read with care: the simulated demand repeats its week, with a slow trend and noise, so",
        "a lookback predicts the next month well; a real fleet's launches and migrations do not",
        "show in any lookback.",
        "",
        "## Risk margin, chosen on validation seeds",
        "",
        "Why RIs missed 95%: the net-savings optimum on the lookback buys up to the",
        "commitment whose last dollar is used just above break-even. For a 1-year RI (rate",
        "~62% of On-Demand) the last RI bought per type was busy 77-83% of the lookback's",
        "hours on average over types and as little as 60-63% (its break-even), on every",
        "lookback (seeds 1-3, one-off diagnosis), so a slightly lower month leaves it idle;",
        "two of the three misses were the 7-day lookback, which sees one week's noise.",
        "The recommender now maximises net savings among commitments whose last dollar (last",
        "RI) was used in at least a floor share of the lookback's hours (`MIN_MARGINAL_USE`",
        "in `services/rightsizing/commitments/recommend.py`; 0 = the optimum alone). A",
        "marginal floor was taken over a floor on each purchase's average utilisation after a",
        "one-off comparison on the validation seeds (2026-12-04, not regenerated here): an",
        "average floor of 0.90 reached 95.5% worst-row RI utilisation at a 95.9% mean ratio,",
        "a marginal floor of 0.70 96.0% at 98.0% (it keeps the well-used RIs of a bursty",
        "type instead of dropping the type).",
        "The floor is chosen per product on validation seeds "
        f"{', '.join(map(str, VALIDATION_SEEDS))} only: the lowest value on the grid that",
        "met both targets on every validation row (seed x lookback). The held-out seeds",
        "below were scored once, with the service's constant. Seeds 1-3 are the seeds of the",
        "earlier table (published before the floor existed, not used to choose it); 4-6 are",
        "new.",
        "",
        "| product | floor | every validation row met | worst utilisation | worst ratio | "
        "mean ratio |",
        "|---|---|---|---|---|---|",
    ]
    for product in PRODUCTS:
        for g in chosen[product]["grid"]:
            mark = " (chosen)" if g["floor"] == chosen[product]["floor"] else ""
            lines.append(
                f"| {product} | {g['floor']:.2f}{mark} | {'yes' if g['met'] else 'no'} | "
                f"{_pct(g['min_utilisation'])} | {_pct(g['min_ratio'])} | "
                f"{_pct(g['mean_ratio'])} |"
            )
    lines.append("")
    for product in PRODUCTS:
        pick = chosen[product]
        lines.append(
            f"- {product}: validation chose {pick['floor']:.2f}"
            + ("" if pick["met"] else " (no floor met both targets on every row)")
            + f"; the service ships {shipped[product]:.2f}"
            + ("." if shipped[product] == pick["floor"] else " -- MISMATCH: update the constant.")
        )
    lines += [
        "",
        "## Held-out seeds",
        "",
        "*ours* = the service's recommendation with its floor; *no floor* = the net-savings",
        "optimum alone (the recommender before the floor).",
        "",
        "| seed | product | lookback | ours: ratio | ours: util. | no floor: ratio | "
        "no floor: util. | min hour: ratio | min hour: util. | mean hour: ratio | "
        "mean hour: util. | hindsight net $ |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in seeds:
        for lookback, products in s["lookbacks"].items():
            for product, p in products.items():
                cells = [f"{_pct(p[k]['ratio'])} | {_pct(p[k]['utilisation'])}"
                         for k in ("ours", "no_floor", "min_hour", "mean_hour")]  # fmt: skip
                lines.append(
                    f"| {s['seed']} | {product} | {lookback} d | {' | '.join(cells)} | "
                    f"${p['hindsight']['net_savings']:,.0f} |"
                )
    lines += ["", "Held-out summary (every seed, lookback and decision):", ""]
    for product in PRODUCTS:
        rows = [s["lookbacks"][lb][product]["ours"] for s in seeds for lb in s["lookbacks"]]
        ours, bare = _totals(seeds, product, "ours"), _totals(seeds, product, "no_floor")
        hind = _totals(seeds, product, "hindsight")
        lines.append(
            f"- {product}: {sum(_meets(r) for r in rows)}/{len(rows)} rows meet both targets; "
            f"utilisation {_pct(min(r['utilisation'] for r in rows))}-"
            f"{_pct(max(r['utilisation'] for r in rows))}, ratio "
            f"{_pct(min(r['ratio'] for r in rows))}-{_pct(max(r['ratio'] for r in rows))}; "
            f"net savings ${ours:,.0f} with the floor vs ${bare:,.0f} without "
            f"({(ours - bare) / bare:+.2%}), hindsight ${hind:,.0f}."
        )
    secs = ", ".join(str(s["seconds"]) for s in validation + seeds)
    lines += ["", f"Seconds per seed (validation, then held-out): {secs}.", ""]
    (out / "commitments-eval.md").write_text("\n".join(lines))
    payload = {"validation": validation, "chosen": chosen, "held_out": seeds}
    (out / "commitments-eval.json").write_text(json.dumps(payload, indent=2) + "\n")


def main() -> None:
    """CLI: ``python -m evals.eval_commitments [--seeds 1 2 3] [--instances 200]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--validation-seeds", type=int, nargs="+", default=list(VALIDATION_SEEDS))
    parser.add_argument("--instances", type=int, default=INSTANCES)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    if set(args.seeds) & set(args.validation_seeds):
        parser.error("held-out and validation seeds must not overlap")
    grid: dict[str, Floors] = {_grid(t): dict.fromkeys(PRODUCTS, t) for t in FLOOR_GRID}
    validation = [run_seed(seed, args.instances, grid) for seed in args.validation_seeds]
    chosen = choose_floors(validation)
    held: dict[str, Floors] = {"ours": None, "no_floor": dict.fromkeys(PRODUCTS, 0.0)}
    seeds = [run_seed(seed, args.instances, held) for seed in args.seeds]
    default = (args.seeds == list(SEEDS) and args.instances == INSTANCES
               and args.validation_seeds == list(VALIDATION_SEEDS))  # fmt: skip
    command = (
        "make eval-commitments"
        if default
        else (
            "python -m evals.eval_commitments --seeds "
            + " ".join(map(str, args.seeds))
            + " --validation-seeds "
            + " ".join(map(str, args.validation_seeds))
            + f" --instances {args.instances}"
        )
    )
    write_report(seeds, validation, chosen, command, args.out)
    print(json.dumps({p: c["floor"] for p, c in chosen.items()}))


if __name__ == "__main__":
    main()
