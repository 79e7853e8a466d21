"""Load NAB's published per-row results so they can be scored by our scorer beside ours."""

from __future__ import annotations

import json
from pathlib import Path

from evals.nab.corpus import load_windows, read_result_scores, window_rows
from evals.nab.exceptions import NabDataError
from evals.nab.runner import FileResult


def load_published(
    results_dir: Path, detector: str, labels: Path, category: str
) -> list[FileResult]:
    """Read ``results_dir/<detector>/<category>/<detector>_<file>.csv[.gz]`` for every file."""
    windows = load_windows(labels)
    folder = results_dir / detector / category
    files = sorted(folder.glob(f"{detector}_*.csv*"))
    if not files:
        raise NabDataError(f"no published results in {folder}; check --results and the name")
    out = []
    for path in files:
        name = path.name.removesuffix(".gz").removeprefix(f"{detector}_")
        key = f"{category}/{name}"
        stamps, scores = read_result_scores(path)
        out.append(FileResult(key, scores, window_rows(stamps, windows[key], key)))
    return out


def published_thresholds(thresholds_json: Path, detector: str) -> dict[str, float]:
    """The threshold NAB published for ``detector`` per profile (tuned on all 58 files)."""
    raw = json.loads(thresholds_json.read_text())
    if detector not in raw:
        raise NabDataError(f"{thresholds_json} has no thresholds for {detector!r}")
    return {profile: float(v["threshold"]) for profile, v in raw[detector].items()}
