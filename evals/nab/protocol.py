"""Validation-only threshold protocol: choose on validation, apply unchanged to held-out.

NAB's own recipe picks one threshold per profile on the corpus it reports, which is
in-sample. Here the threshold search (NAB's, :func:`evals.nab.scorer.optimise_threshold`)
runs on the validation files of :mod:`evals.nab.split` only; the same threshold then
scores the held-out half and the full realAWSCloudwatch set. The scorer is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from evals.nab.corpus import NAB_PROFILES, CostMatrix, list_series
from evals.nab.runner import (
    FileResult,
    ProfileScore,
    StreamDetector,
    run_detector,
    score_at_thresholds,
    score_results,
)
from evals.nab.scorer import FileScore, score_file, sweep
from evals.nab.split import Split, split_keys


@dataclass(frozen=True)
class ProtocolScores:
    """One detector's scores per profile: validation (threshold chosen there), held-out, full."""

    validation: dict[str, ProfileScore]
    held_out: dict[str, ProfileScore]
    full_real: dict[str, ProfileScore]
    validation_files: int
    held_out_files: int


def corpus_split(data_root: Path) -> Split:
    """The split of every NAB file under ``data_root`` (NAB's ``data/`` folder)."""
    return split_keys(list_series(data_root))


def evaluate(
    results: Sequence[FileResult], split: Split, profiles: Mapping[str, CostMatrix]
) -> ProtocolScores:
    """Score ``results`` under the protocol; files absent from ``results`` are skipped.

    Published NAB results ship only for realAWSCloudwatch, so for those detectors the
    validation side is the realAWSCloudwatch validation half alone.
    """
    by_key = {r.key: r for r in results}
    val = [by_key[k] for k in split.validation if k in by_key]
    held = [by_key[k] for k in split.held_out if k in by_key]
    full = [by_key[k] for k in split.full_real if k in by_key]
    chosen = score_results(val, profiles)
    thresholds = {s.profile: s.threshold for s in chosen}
    return ProtocolScores(
        validation={s.profile: s for s in chosen},
        held_out={s.profile: s for s in score_at_thresholds(held, profiles, thresholds)},
        full_real={s.profile: s for s in score_at_thresholds(full, profiles, thresholds)},
        validation_files=len(val),
        held_out_files=len(held),
    )


def run_validation(
    name: str, make: Callable[[], StreamDetector], data_root: Path, labels: Path
) -> tuple[dict[str, ProfileScore], list[tuple[str, FileScore]]]:
    """Run a detector on the validation files only and score them (what tuning may see).

    Returns the per-profile scores and, per file, the standard profile's score at the
    chosen threshold (for reading where a configuration wins or loses).
    """
    split = corpus_split(data_root)
    results = run_detector(name, make, data_root, labels, None, split.validation)
    scores = {s.profile: s for s in score_results(results, NAB_PROFILES)}
    cost, threshold = NAB_PROFILES["standard"], scores["standard"].threshold
    per_file = [
        (r.key, score_file(sweep(len(r.scores), r.windows, cost), r.scores, threshold))
        for r in results
    ]
    return scores, per_file
