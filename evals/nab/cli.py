"""``spendstream eval nab``: run detectors over NAB-format data and print NAB scores."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from evals.nab.corpus import NAB_PROFILES, PROFILE_NAMES, CostMatrix, load_profiles
from evals.nab.protocol import corpus_split, evaluate
from evals.nab.runner import DETECTORS, run_detector, score_results

eval_app = typer.Typer(help="Offline evaluations (NAB benchmark).", no_args_is_help=True)


@eval_app.callback()
def _group() -> None:
    """Offline evaluations: ``nab`` runs the Numenta Anomaly Benchmark."""


@eval_app.command("nab")
def nab(
    data: Annotated[Path, typer.Option(help="NAB data root or one category folder.")],
    labels: Annotated[Path, typer.Option(help="NAB labels/combined_windows.json.")],
    out: Annotated[Path, typer.Option(help="Directory for NAB-format result files.")],
    profile: Annotated[
        list[str] | None, typer.Option(help="Profiles to score (default all).")
    ] = None,
    detector: Annotated[
        list[str] | None,
        typer.Option(help="spendstream (default), rollingZScore, riverHalfSpaceTrees."),
    ] = None,
    profiles_json: Annotated[
        Path | None,
        typer.Option(help="NAB config/profiles.json (default: NAB's published weights)."),
    ] = None,
    protocol: Annotated[
        bool,
        typer.Option(
            help="Threshold from the validation split only (evals/nab/split.py); print "
            "validation, held-out and full-realAWSCloudwatch scores. --data: NAB's data root."
        ),
    ] = False,
) -> None:
    """Stream each file through each detector, write results, print one row per detector."""
    profile = profile or list(PROFILE_NAMES)
    detector = detector or ["spendstream"]
    unknown = [d for d in detector if d not in DETECTORS]
    if unknown:
        raise typer.BadParameter(f"unknown detector(s) {unknown}; choose from {sorted(DETECTORS)}")
    costs = load_profiles(profiles_json) if profiles_json else NAB_PROFILES
    missing = [p for p in profile if p not in costs]
    if missing:
        raise typer.BadParameter(f"unknown profile(s) {missing}; choose from {sorted(costs)}")
    if protocol:
        _print_protocol(data, labels, out, detector, {p: costs[p] for p in profile})
        return
    table = Table(title=f"NAB scores ({data})")
    table.add_column("detector")
    for p in profile:
        table.add_column(f"{p} (threshold)")
    table.add_column("points/s")
    for name in detector:
        started = time.perf_counter()
        results = run_detector(name, DETECTORS[name], data, labels, out)
        rate = sum(len(r.scores) for r in results) / (time.perf_counter() - started)
        scores = score_results(results, {p: costs[p] for p in profile})
        table.add_row(
            name, *[f"{s.normalised:.1f} ({s.threshold:.4f})" for s in scores], f"{rate:,.0f}"
        )
    Console().print(table)


def _print_protocol(
    data: Path, labels: Path, out: Path, detectors: list[str], costs: dict[str, CostMatrix]
) -> None:
    split = corpus_split(data)
    table = Table(title=f"NAB protocol ({data}): threshold chosen on validation only")
    for column in ("detector", "profile", "threshold", "validation", "held out", "full real"):
        table.add_column(column)
    for name in detectors:
        scores = evaluate(run_detector(name, DETECTORS[name], data, labels, out), split, costs)
        for p in costs:
            table.add_row(
                name,
                p,
                f"{scores.validation[p].threshold:.4f}",
                f"{scores.validation[p].normalised:.1f}",
                f"{scores.held_out[p].normalised:.1f}",
                f"{scores.full_real[p].normalised:.1f}",
            )
    Console().print(table)
