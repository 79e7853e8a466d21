"""`make eval-anomaly`: cost anomaly detection on the simulated organisation (+ NAB).

Runs the service's own cost engine (same code the worker runs, no broker) and
three baselines over the same daily series of several simulated organisations,
scores them at the incident level (see ``evals.cost_matching``)
and writes docs/anomaly-eval.md and docs/anomaly-eval.json. When the NAB report
module (``evals.nab_report``) is present its output is appended to the same
report.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from tqdm import tqdm

from evals.cost_baselines import run_baselines
from evals.cost_intraday import evaluate_latency, latency_markdown
from evals.cost_matching import FoundIncident, Score, Truth, score
from evals.metric_eval import default_fleet_config, demo_check, evaluate_seed, metric_markdown
from services.anomaly.cost.engine import CostEngineConfig
from services.anomaly.cost.replay import run_engine, to_incidents
from shared.events.costs import series_id
from simulator import SimConfig, simulate_organisation

DOCS = Path(__file__).resolve().parent.parent / "docs"
# Five organisations: the minimum. Seeds 101-110 were used for tuning
# the detector's defaults; these are held out.
DEFAULT_SEEDS = "1,2,3,4,5"
# Monthly charges and adjustments are not usage anomalies (the service skips them too).
USAGE_LINE_ITEM_TYPES = ("Usage",)
OURS = "spendstream (seasonal + CUSUM + grouping)"
# NAB can take minutes; the combined report waits this long for it at most.
NAB_TIMEOUT_S = 1800


def _truths(org: Any, seed: int) -> tuple[list[Truth], dict[tuple[str, str, str, date], float]]:
    truths: list[Truth] = []
    originals: dict[tuple[str, str, str, date], float] = {}
    for a in org.anomalies:
        if a.kind == "metric":
            continue
        sid = series_id("usage_type", "daily", a.account_id, a.service, a.usage_type)
        truths.append(Truth(f"s{seed}-{a.id}", a.kind, sid, a.start, a.end, a.usage_type))
        if a.kind == "restatement" and a.original_value is not None:
            originals[(a.account_id, a.service or "", a.usage_type or "", a.start)] = (
                a.original_value
            )
    return truths, originals


def _pool(scores: list[Score]) -> dict[str, Any]:
    tp_inc = sum(s.incidents - s.fp for s in scores)
    fp = sum(s.fp for s in scores)
    tp = sum(s.tp for s in scores)
    fn = sum(s.fn for s in scores)
    p = tp_inc / (tp_inc + fp) if tp_inc + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    delays = [s.median_delay_days for s in scores if s.median_delay_days is not None]
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4),
        "detected": tp,
        "missed": fn,
        "false_positives": fp,
        "incidents": sum(s.incidents for s in scores),
        "median_delay_days": float(pd.Series(delays).median()) if delays else None,
        "rootcause_hits": sum(s.rootcause_hits for s in scores),
        "rootcause_spikes": sum(s.rootcause_total for s in scores),
    }


def evaluate(seeds: list[int]) -> dict[str, Any]:
    """Score ours and the baselines on each seed's organisation."""
    cfg = CostEngineConfig()
    det = cfg.detector
    per_method: dict[str, list[Score]] = {}
    per_seed: list[dict[str, Any]] = []
    for seed in tqdm(seeds, desc="simulated organisations"):
        org = simulate_organisation(SimConfig(seed=seed))
        frame = org.daily_costs[org.daily_costs.line_item_type.isin(USAGE_LINE_ITEM_TYPES)]
        truths, originals = _truths(org, seed)
        started = time.perf_counter()
        ours = to_incidents(run_engine(frame, originals, cfg))
        elapsed = time.perf_counter() - started
        methods: dict[str, list[FoundIncident]] = {OURS: ours}
        methods.update(run_baselines(frame, det.min_impact_usd, det.min_pct, det.warmup_days))
        row: dict[str, Any] = {
            "seed": seed,
            "anomalies": len(truths),
            "engine_seconds": round(elapsed, 2),
        }
        for name, incidents in methods.items():
            result = score(incidents, truths)
            per_method.setdefault(name, []).append(result)
            row[name] = asdict(result)
        per_seed.append(row)
    return {
        "seeds": seeds,
        "config": {
            "min_impact_usd": det.min_impact_usd,
            "min_pct": det.min_pct,
            "warmup_days": det.warmup_days,
            "k_sigma": det.k_sigma,
            "group_share": cfg.group_share,
        },
        "pooled": {name: _pool(scores) for name, scores in per_method.items()},
        "per_seed": per_seed,
    }


def _markdown(result: dict[str, Any]) -> str:
    cfg = result["config"]
    lines = [
        "# Anomaly detection evaluation",
        "",
        "Generated by `make eval-anomaly` (`python -m evals.eval_anomaly`).",
        "",
        f"## Simulated organisation (seeds {', '.join(map(str, result['seeds']))})",
        "",
        "Incident-level scoring: an injected anomaly is detected when an incident overlapping",
        "its window names its series or an ancestor (series or related series); an incident",
        "matching no injected anomaly is a false positive. Detector defaults were tuned on",
        "seeds 101-110; the seeds reported here were held out. Restatements are not cost",
        "anomalies:",
        "they are excluded from recall, and incidents that only match a restated day count",
        "neither way (ours never opens an incident from a restatement; it emits CostRestated).",
        "Delay = days from the anomaly's first day to the first matching incident's window",
        "(0 = flagged on the first anomalous day, which the service judges as soon as a",
        "delivery shows the next day). All methods see the same usage series at all three",
        f"levels, the same {cfg['warmup_days']}-day warm-up and the same floors",
        f"(excess >= ${cfg['min_impact_usd']:.0f}/day and >= {cfg['min_pct']:.0%}).",
        "",
        "| method | precision | recall | F1 | detected | missed | false pos. | incidents "
        "| median delay (days) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, p in result["pooled"].items():
        lines.append(
            f"| {name} | {p['precision']:.3f} | {p['recall']:.3f} | {p['f1']:.3f} "
            f"| {p['detected']} | {p['missed']} | {p['false_positives']} | {p['incidents']} "
            f"| {p['median_delay_days']} |"
        )
    ours = result["pooled"][OURS]
    share = ours["rootcause_hits"] / ours["rootcause_spikes"] if ours["rootcause_spikes"] else 0.0
    lines += [
        "",
        f"Root cause (ours): {ours['rootcause_hits']} of {ours['rootcause_spikes']} "
        "detected injected "
        f"spikes ({share:.0%}) name the injected usage type first with share >= 0.8.",
        "",
        "Per seed (F1):",
        "",
        "| seed | " + " | ".join(result["pooled"]) + " |",
        "|---|" + "---|" * len(result["pooled"]),
    ]
    for row in result["per_seed"]:
        lines.append(
            f"| {row['seed']} | "
            + " | ".join(f"{row[m]['f1']:.3f}" for m in result["pooled"])
            + " |"
        )
    return "\n".join(lines) + "\n"


def _nab_section() -> tuple[str, dict[str, Any] | None]:
    if importlib.util.find_spec("evals.nab_report") is None:
        return (
            "\n## NAB\n\n`evals/nab_report.py` is not present yet; NAB scores are not included.\n",
            None,
        )
    proc = subprocess.run(
        [sys.executable, "-m", "evals.nab_report"],
        capture_output=True,
        text=True,
        timeout=NAB_TIMEOUT_S,
        check=False,
    )
    body = proc.stdout.strip() or proc.stderr.strip()[-4000:]
    data: dict[str, Any] = {"exit_code": proc.returncode}
    report = DOCS / "nab-eval.json"
    if proc.returncode == 0 and report.exists():
        data["report"] = json.loads(report.read_text())
    else:
        data["output"] = body[-20000:]
    heading = "" if body.startswith("#") else "## NAB (from `python -m evals.nab_report`)\n\n"
    return f"\n{heading}{body}\n", data


def main(
    seeds: str = typer.Option(DEFAULT_SEEDS, help="Comma-separated simulator seeds."),
    nab: bool = typer.Option(True, help="Append the NAB report when evals/nab_report.py exists."),
    metric: bool = typer.Option(True, help="Score metric incidents on the simulated fleet."),
    latency: bool = typer.Option(True, help="Detection latency in data time per path."),
) -> None:
    """Evaluate, print the table, write docs/anomaly-eval.md and .json."""
    chosen = [int(s) for s in seeds.split(",")]
    result = evaluate(chosen)
    markdown = _markdown(result)
    if latency:
        result["latency"] = evaluate_latency(chosen)
        markdown += latency_markdown(result["latency"])
    if metric:
        rows = [evaluate_seed(s) for s in tqdm(chosen, desc="metric fleets")]
        markdown += metric_markdown(rows, default_fleet_config(), demo_check())
        result["metric"] = rows
    if nab:
        section, data = _nab_section()
        markdown += section
        result["nab"] = data
    DOCS.mkdir(exist_ok=True)
    (DOCS / "anomaly-eval.md").write_text(markdown)
    (DOCS / "anomaly-eval.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(markdown)


if __name__ == "__main__":
    typer.run(main)
