"""Reading NAB-format files: series, labelled windows, cost profiles and result files.

NAB (numenta/NAB, MIT) stores each series as ``timestamp,value`` CSV, the anomaly
windows of every file in one JSON (``labels/combined_windows.json``) keyed by the
file's path relative to the data root, and the scoring weights in
``config/profiles.json``. Keeping the parsing here lets the scorer stay pure numpy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from evals.nab.exceptions import NabDataError

#: NAB's three published scoring profiles, in the order NAB reports them.
PROFILE_NAMES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


@dataclass(frozen=True)
class CostMatrix:
    """Weights of one NAB profile: reward per TP window, cost per FP and per missed window."""

    tp: float
    fp: float
    fn: float


#: NAB's published profile weights (config/profiles.json at ea702d7), so scoring needs no file.
NAB_PROFILES = {
    "standard": CostMatrix(tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP_rate": CostMatrix(tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN_rate": CostMatrix(tp=1.0, fp=0.11, fn=2.0),
}


@dataclass(frozen=True)
class Series:
    """One NAB data file: its key (path relative to the data root) and its rows."""

    key: str
    timestamps: np.ndarray  # datetime64[ns]
    values: np.ndarray  # float64


def read_series(path: Path, key: str) -> Series:
    """Read a ``timestamp,value`` CSV.

    Raises:
        NabDataError: when the file lacks those columns, so the caller can fix the path.
    """
    frame = pd.read_csv(path)
    if "timestamp" not in frame.columns or "value" not in frame.columns:
        raise NabDataError(f"{path}: expected columns timestamp,value; got {list(frame.columns)}")
    stamps = pd.to_datetime(frame["timestamp"]).to_numpy(dtype="datetime64[ns]")
    return Series(key=key, timestamps=stamps, values=frame["value"].to_numpy(dtype=np.float64))


def list_series(data_dir: Path) -> dict[str, Path]:
    """Every ``.csv`` or ``.csv.gz`` under ``data_dir``, keyed ``<category>/<file>.csv``, sorted.

    ``data_dir`` is NAB's data root or one of its category folders.

    Raises:
        NabDataError: when there is none, which almost always means a wrong ``--data`` path.
    """
    # Pointing at one category folder (e.g. data/realAWSCloudwatch) keeps NAB's keys.
    root = data_dir.parent if any(data_dir.glob("*.csv*")) else data_dir
    found = {
        p.relative_to(root).as_posix().removesuffix(".gz"): p
        for p in data_dir.rglob("*")
        if p.name.endswith((".csv", ".csv.gz"))
    }
    if not found:
        raise NabDataError(f"no NAB .csv or .csv.gz files under {data_dir}; check the data path")
    return dict(sorted(found.items()))


def load_windows(path: Path) -> dict[str, list[tuple[np.datetime64, np.datetime64]]]:
    """Load ``combined_windows.json`` into inclusive [start, end] timestamp pairs per file."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise NabDataError(f"cannot read NAB windows from {path}: {exc}") from exc
    return {
        key: [
            (np.datetime64(pd.Timestamp(a), "ns"), np.datetime64(pd.Timestamp(b), "ns"))
            for a, b in pairs
        ]
        for key, pairs in raw.items()
    }


def window_rows(
    timestamps: np.ndarray, windows: list[tuple[np.datetime64, np.datetime64]], key: str
) -> list[tuple[int, int]]:
    """Map timestamp windows onto inclusive row ranges, as NAB does by exact timestamp match.

    Raises:
        NabDataError: when a window edge is not a timestamp of the file (wrong labels file).
    """
    rows: list[tuple[int, int]] = []
    for start, end in windows:
        left = int(np.searchsorted(timestamps, start))
        right = int(np.searchsorted(timestamps, end))
        if (
            left >= len(timestamps)
            or right >= len(timestamps)
            or timestamps[left] != start
            or timestamps[right] != end
        ):
            raise NabDataError(f"{key}: window {start}..{end} does not match the file's timestamps")
        rows.append((left, right))
    return rows


def load_profiles(path: Path) -> dict[str, CostMatrix]:
    """Load NAB's ``profiles.json`` into cost matrices keyed by profile name."""
    try:
        raw = json.loads(path.read_text())
        return {
            name: CostMatrix(
                tp=float(p["CostMatrix"]["tpWeight"]),
                fp=float(p["CostMatrix"]["fpWeight"]),
                fn=float(p["CostMatrix"]["fnWeight"]),
            )
            for name, p in raw.items()
        }
    except (OSError, ValueError, KeyError) as exc:
        raise NabDataError(f"cannot read NAB profiles from {path}: {exc}") from exc


def read_result_scores(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a NAB result file (``timestamp,value,anomaly_score,...``, optionally gzipped)."""
    frame = pd.read_csv(path)
    if "anomaly_score" not in frame.columns:
        raise NabDataError(f"{path}: a NAB result file needs an anomaly_score column")
    stamps = pd.to_datetime(frame["timestamp"]).to_numpy(dtype="datetime64[ns]")
    return stamps, frame["anomaly_score"].to_numpy(dtype=np.float64)
