"""Try detector configurations on the NAB validation split and log every try.

``python -m evals.nab.tune '{"pattern_weight": 0.5}' '{"pattern_weight": 0.7}' --note why``
runs each configuration (``MetricDetectorConfig`` fields over the defaults) on the
validation files of :mod:`evals.nab.split` only, prints its validation scores, and appends
one record per try to ``evals/nab/trials.json``. The log is append-only and written only
here, so the number of configurations tried is part of the result (docs/nab-eval.md
lists them all). Held-out files are never read by this module.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from evals.nab.protocol import run_validation
from evals.nab.runner import metric_detector

ROOT = Path(__file__).resolve().parents[2]
TRIALS = Path(__file__).resolve().parent / "trials.json"
SHARED_NAB = ROOT.parent / "shared" / "data" / "nab"


def load_trials(path: Path = TRIALS) -> list[dict[str, Any]]:
    """Every logged try, oldest first (empty before the first)."""
    return json.loads(path.read_text()) if path.exists() else []


def _commit() -> str:
    """HEAD, with ``+`` when the detector or the evaluation code differ from it (uncommitted)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    changed = git("status", "--porcelain", "--", "services", "evals", ":!evals/nab/trials.json")
    return git("rev-parse", "--short", "HEAD") + ("+" if changed else "")


def try_config(
    overrides: dict[str, Any], nab: Path, note: str, detail: bool = False
) -> dict[str, Any]:
    """Score one configuration on validation and append it to the log; returns the record."""
    scores, per_file = run_validation(
        "spendstream",
        metric_detector(overrides),
        nab / "data",
        nab / "labels" / "combined_windows.json",
    )
    trials = load_trials()
    record = {
        "trial": len(trials) + 1,
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "code": _commit(),
        "config": overrides,
        "note": note,
        **{f"validation_{p}": round(s.normalised, 2) for p, s in scores.items()},
        "threshold_standard": scores["standard"].threshold,
        "windows_standard": f"{scores['standard'].detected}/{scores['standard'].windows}",
        "fp_rows_standard": scores["standard"].fp_rows,
    }
    TRIALS.write_text(json.dumps([*trials, record], indent=1) + "\n")
    if detail:
        for key, f in per_file:
            print(f"  {key}: {f.score:+.2f} {f.detected_windows}/{f.windows} {f.fp_rows} FP")
    return record


def main(
    configs: Annotated[list[str], typer.Argument(help="JSON objects of config overrides.")],
    note: Annotated[str, typer.Option(help="Why these were tried.")] = "",
    nab: Annotated[Path, typer.Option(help="NAB root (data/, labels/).")] = SHARED_NAB,
    detail: Annotated[bool, typer.Option(help="Print each validation file's score.")] = False,
) -> None:
    """Run each configuration on validation, print and log its scores."""
    for raw in configs:
        r = try_config(json.loads(raw), nab, note, detail)
        print(
            f"#{r['trial']} {json.dumps(r['config'])}: validation standard "
            f"{r['validation_standard']:.1f} ({r['windows_standard']}, {r['fp_rows_standard']} FP)"
        )


if __name__ == "__main__":
    typer.run(main)
