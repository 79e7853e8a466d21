"""NAB section of the anomaly evaluation, under the validation / held-out protocol.

``python -m evals.nab_report`` prints the markdown (``evals/eval_anomaly.py`` appends it to
docs/anomaly-eval.md) and writes docs/nab-eval.md and docs/nab-eval.json. Every number
comes from one scorer (``evals.nab``, which reproduces NAB's published per-file scores
exactly) and one protocol (``evals.nab.split``, ``evals.nab.protocol``): the threshold is
chosen on the validation files only and applied unchanged to the held-out files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from evals.nab.corpus import NAB_PROFILES
from evals.nab.protocol import ProtocolScores, corpus_split, evaluate
from evals.nab.published import load_published, published_thresholds
from evals.nab.runner import (
    DETECTORS,
    StreamDetector,
    metric_detector,
    run_detector,
    score_at_thresholds,
)
from evals.nab.split import REAL_CATEGORY
from evals.nab.tune import load_trials

ROOT = Path(__file__).resolve().parents[1]
#: The shared public data beside the checkout; the test fixture (3 published detectors) otherwise.
SHARED_NAB = ROOT.parent / "shared" / "data" / "nab"
FIXTURE_NAB = ROOT / "tests" / "fixtures" / "nab"
PUBLISHED = {
    "numenta": "Numenta HTM",
    "contextOSE": "CAD OSE",
    "ARTime": "ARTime",
    "knncad": "KNN CAD",
    "randomCutForest": "Random Cut Forest",
    "twitterADVec": "Twitter ADVec",
    "windowedGaussian": "Windowed Gaussian",
}
#: The configuration chosen on validation (trial 118): pattern memory + seasonal expert.
CANDIDATE = {"pattern_weight": 0.5, "season_points": 288, "threshold": 0.51}
#: Ablations of the candidate (reported, never used to choose anything).
NO_PATTERN = {**CANDIDATE, "pattern_weight": 0.0}
NO_SEASON = {**CANDIDATE, "season_points": 0}
#: Every time a validation-chosen candidate was scored on the held-out files, in order
#: (written by hand: the record of how often the held-out half was looked at).
HELD_OUT_LOOKS = [
    ("05d24e7", "trial 31: 32 levels, order 6, daily context in the pattern, k=2", 65.2),
    ("176ddd7", "trial 98: 8 levels, order 6, seasonal expert, cap 4000", 57.9),
    ("6eaba6d", "same, with the no-pattern / no-season ablations", 57.9),
    ("c810f4f", "trial 118: cap 125 with forgetting, seasonal history 504", 45.1),
]

PROTOCOL = f"""\
**Protocol** (fixed before any constant was chosen on it; `evals/nab/split.py`):
- *validation*: all of `artificialWithAnomaly` and `artificialNoAnomaly`, plus the
  `{REAL_CATEGORY}` files at even positions (0, 2, 4, ...) of the name-sorted list (9 files).
- *held out*: the `{REAL_CATEGORY}` files at odd positions (8 files, 17 windows).
- One threshold per detector and profile, chosen by NAB's threshold optimisation on the
  validation files only, then applied unchanged to held-out and to the full 17.
- Every detector constant is chosen on validation only, through `python -m evals.nab.tune`,
  which appends each try to `evals/nab/trials.json` (never edited by hand) and cannot read
  held-out files. Held-out is scored only here, for the configurations in the table below.
- The *full 17* figure contains the 9 validation files, so it is in-sample for every row.
- NAB's published detectors ship per-row scores for `{REAL_CATEGORY}` only: their
  validation side is the 9 validation `{REAL_CATEGORY}` files, same threshold rule.
"""


def _row(name: str, note: str, ps: ProtocolScores) -> dict[str, Any]:
    held = ps.held_out["standard"]
    return {
        "detector": name,
        "note": note,
        "validation_files": ps.validation_files,
        "validation_standard": round(ps.validation["standard"].normalised, 1),
        **{f"held_out_{p}": round(s.normalised, 1) for p, s in ps.held_out.items()},
        "held_out_windows": f"{held.detected}/{held.windows}",
        "held_out_fp_rows": held.fp_rows,
        "full17_standard": round(ps.full_real["standard"].normalised, 1),
        "threshold_standard": round(ps.validation["standard"].threshold, 4),
    }


def _ours(nab: Path, out: Path | None) -> tuple[list[dict[str, Any]], dict[str, float]]:
    labels = nab / "labels" / "combined_windows.json"
    data = nab / "data"
    split = corpus_split(data)
    makers: list[tuple[str, str, Callable[[], StreamDetector]]] = [
        (
            "spendstream candidate",
            "trial 118, chosen on validation: EWMA error + pattern memory + seasonal expert",
            metric_detector(CANDIDATE),
        ),
        ("candidate no pattern", "ablation: pattern_weight=0", metric_detector(NO_PATTERN)),
        ("candidate no season", "ablation: season_points=0", metric_detector(NO_SEASON)),
        (
            "spendstream (shipped default)",
            "EWMA error only; constants chosen on all 17 before the protocol (in-sample)",
            DETECTORS["spendstream"],
        ),
        ("rollingZScore", "baseline, textbook settings", DETECTORS["rollingZScore"]),
        ("riverHalfSpaceTrees", "baseline, River defaults", DETECTORS["riverHalfSpaceTrees"]),
    ]
    rows, rates = [], {}
    for name, note, make in makers:
        started = time.perf_counter()
        shipped = make is DETECTORS["spendstream"]
        results = run_detector(name.split()[0], make, data, labels, out if shipped else None)
        rates[name] = sum(len(r.scores) for r in results) / (time.perf_counter() - started)
        rows.append(_row(name, note, evaluate(results, split, NAB_PROFILES)))
    return rows, rates


def _published(nab: Path) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Published detectors under the protocol, and at NAB's thresholds on all 17 files.

    The second reproduces NAB's published numbers: the check that the scorer is NAB's.
    """
    labels = nab / "labels" / "combined_windows.json"
    split = corpus_split(nab / "data") if (nab / "data").exists() else None
    rows, as_published = [], {}
    for det, label in PUBLISHED.items():
        if split is None or not (nab / "results" / det / REAL_CATEGORY).exists():
            continue
        results = load_published(nab / "results", det, labels, REAL_CATEGORY)
        rows.append(_row(label, "published per-row scores", evaluate(results, split, NAB_PROFILES)))
        thresholds = published_thresholds(nab / "config" / "thresholds.json", det)
        scores = score_at_thresholds(results, NAB_PROFILES, thresholds)
        as_published[label] = round(
            next(x for x in scores if x.profile == "standard").normalised, 1
        )
    return rows, as_published


def _trials_table() -> list[str]:
    trials = load_trials()
    lines = [
        f"**Every configuration tried** ({len(trials)}, validation only, from "
        "`evals/nab/trials.json`; fields over the `MetricDetectorConfig` defaults of the "
        "code at that commit; trials 1-87 were logged before the code id marked uncommitted "
        "changes with `+`, and their code is in the commit after the one named):",
        "",
        "| # | code | config | validation standard | low FP | low FN | windows | FP rows | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {t['trial']} | {t['code']} | `{json.dumps(t['config'])}` "
        f"| {t['validation_standard']:.1f} | {t['validation_reward_low_FP_rate']:.1f} "
        f"| {t['validation_reward_low_FN_rate']:.1f} | {t['windows_standard']} "
        f"| {t['fp_rows_standard']} | {t['note']} |"
        for t in trials
    ]
    return lines


def nab_report(nab: Path | None = None, out: Path | None = None) -> tuple[str, dict[str, Any]]:
    """Run the protocol; return the markdown section and its JSON data."""
    nab = nab or (SHARED_NAB if SHARED_NAB.exists() else FIXTURE_NAB)
    ours, rates = _ours(nab, out)
    published, as_published = _published(nab)
    rows = ours + published
    head = ours[0]
    shipped = next(r for r in ours if r["detector"].startswith("spendstream (shipped"))
    lines = [
        f"Data `{nab}`. Normalised NAB score (0 = detect nothing, 100 = perfect), standard "
        "profile unless named.",
        "",
        PROTOCOL,
        "**Held-out figure (the one that counts), for the configuration chosen on validation: "
        f"{head['held_out_standard']:.1f}** (standard, {head['held_out_windows']} windows, "
        f"{head['held_out_fp_rows']} FP rows); validation {head['validation_standard']:.1f}; "
        f"full 17 {head['full17_standard']:.1f} (in-sample). Target: 70; not met. It lost to "
        "the detector it was meant to replace, so that one stays the default: "
        f"{shipped['held_out_standard']:.1f} held out, {shipped['full17_standard']:.1f} on the "
        "full 17, both in-sample (its constants were chosen on all 17 files before this "
        "protocol existed), so not a clean held-out figure.",
        "",
        "| detector | what | validation (files) | **held out** | held out low FP | held out low FN "
        "| held-out windows | held-out FP rows | full 17 (in-sample) | threshold (validation) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['detector']} | {r['note']} "
        f"| {r['validation_standard']:.1f} ({r['validation_files']}) "
        f"| **{r['held_out_standard']:.1f}** | {r['held_out_reward_low_FP_rate']:.1f} "
        f"| {r['held_out_reward_low_FN_rate']:.1f} | {r['held_out_windows']} "
        f"| {r['held_out_fp_rows']} | {r['full17_standard']:.1f} | {r['threshold_standard']} |"
        for r in rows
    ]
    lines += [
        "",
        "Honesty notes: the EWMA-part constants (level/scale/likelihood/rest) were chosen "
        "before this protocol by about 45 tries scored on all 17 files, held-out half included, "
        "so every spendstream held-out figure still carries that earlier in-sample choice; the "
        "pattern-memory and seasonal-expert constants were chosen on validation only (table "
        "below). The validation split did not predict the held-out half: gains on validation "
        "(mostly the artificial daily files, which the seasonal expert fixes) came with losses "
        "held out, and constants whose effect shows only past a NAB file's ~4,000 points "
        "(memory cap, seasonal history) were pushed to extremes validation could not tell "
        "apart. Published detectors' own parameters were set by their authors, several with "
        "NAB's full corpus in view; their thresholds here come from the 9 validation files.",
        "",
        "Scale: on the held-out half (17 windows) one window found instead of missed moves "
        "the standard score by about 5.4 points and one false-positive row by about 0.3, so "
        "differences of a few points are one or two detections. Scorer check: at NAB's "
        "published thresholds on all 17 files the published results score "
        + ", ".join(f"{k} {v:.1f}" for k, v in as_published.items())
        + ", NAB's own per-file numbers.",
        "",
        "**Next**: fresh held-out data before any further tuning (NAB's realKnownCause, "
        "realTraffic and realAdExchange files, not in ../shared/data yet, have never been "
        "scored with these options); a "
        "validation criterion over real files only, with the artificial files as a sanity "
        "check; and constants whose effect needs more than a NAB file's ~4,000 points (memory "
        "cap, seasonal history) set from production-length streams, not from NAB.",
        "",
        "**Held-out looks** (every time a candidate was scored on the held-out files; none "
        "fed back into a constant except the final ship / no-ship decision):",
        "",
        "| code | candidate | held out (standard) |",
        "|---|---|---|",
        *[f"| {c} | {what} | {score:.1f} |" for c, what, score in HELD_OUT_LOOKS],
        "",
        *_trials_table(),
        "",
        "Throughput through the runner (points/s, one core, incl. file I/O, shared machine): "
        + ", ".join(f"{k} {v:,.0f}" for k, v in rates.items()),
    ]
    data = {"data": str(nab), "rows": rows, "points_per_s": rates, "trials": len(load_trials())}
    return "\n".join(lines) + "\n", data


#: Where the runner writes NAB-format result files by default (scratch, not committed).
DEFAULT_OUT = Path("/tmp/spendstream-nab")


def main(
    out: Annotated[Path, typer.Option(help="NAB result files go here.")] = DEFAULT_OUT,
) -> None:
    """Print the NAB markdown section and write docs/nab-eval.md and docs/nab-eval.json."""
    markdown, data = nab_report(out=out)
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "nab-eval.md").write_text("# NAB evaluation\n\n" + markdown)
    (ROOT / "docs" / "nab-eval.json").write_text(json.dumps(data, indent=2) + "\n")
    print(markdown)


if __name__ == "__main__":
    typer.run(main)
