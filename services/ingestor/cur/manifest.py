"""Manifests: what one delivery is (report, billing period, assembly/execution id, files).

Legacy CUR writes ``<report>/<YYYYMMDD-YYYYMMDD>/<report>-Manifest.json`` with
``assemblyId`` and ``reportKeys``; CUR 2.0 and FOCUS exports write
``<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`` with
``executionId`` and ``dataFiles``. We read both tolerantly.

A *delivery* is one (report, billing period); each new manifest id for it is a
restatement that replaces the earlier one. ``delivery_id`` names the (report,
billing period) pair; ``key`` names this particular manifest of it and is what
the delivered set and line-item ids are built from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath
from typing import Any

import orjson

from services.ingestor.exceptions import ManifestError
from shared.events import stable_id

MANIFEST_SUFFIX = "-Manifest.json"
_PERIOD_RANGE = re.compile(r"(\d{4})(\d{2})01-\d{8}")
_PERIOD_PARTITION = re.compile(r"BILLING_PERIOD=(\d{4})-(\d{2})")


@dataclass(frozen=True)
class Delivery:
    """One manifest of one report's billing period, and the data files it lists."""

    report: str
    billing_period: date
    manifest_id: str
    manifest_key: str
    files: tuple[str, ...]
    modified: float = 0.0

    @property
    def delivery_id(self) -> str:
        """Stable id of (report, billing period): what restatements replace."""
        return stable_id("cur-delivery", self.report, self.billing_period.isoformat())

    @property
    def key(self) -> str:
        """Stable id of this manifest of the delivery (delivered set, line-item ids)."""
        return stable_id(self.delivery_id, self.manifest_id)


def is_manifest(key: str) -> bool:
    """Whether an object key names a manifest."""
    return key.endswith(MANIFEST_SUFFIX)


def _period(doc: dict[str, Any], key: str) -> date:
    period = doc.get("billingPeriod")
    start = period.get("start") if isinstance(period, dict) else None
    if isinstance(start, str) and len(start) >= 8:
        digits = start.replace("-", "")
        return date(int(digits[:4]), int(digits[4:6]), 1)
    for pattern in (_PERIOD_PARTITION, _PERIOD_RANGE):
        found = pattern.search(key)
        if found:
            return date(int(found.group(1)), int(found.group(2)), 1)
    raise ManifestError(f"{key}: no billingPeriod.start and no billing period in the path")


def _report_name(doc: dict[str, Any], key: str) -> str:
    for field in ("reportName", "exportName", "name"):
        value = doc.get(field)
        if isinstance(value, str) and value:
            return value
    arn = doc.get("exportARN") or doc.get("exportArn")
    if isinstance(arn, str) and "/" in arn:
        return arn.rsplit("/", 1)[-1]
    return PurePosixPath(key).name.removesuffix(MANIFEST_SUFFIX)


def _file_key(ref: Any) -> str:
    if isinstance(ref, dict):
        ref = ref.get("key") or ref.get("path") or ref.get("uri") or ""
    text = str(ref)
    if text.startswith("s3://"):
        text = text[5:].split("/", 1)[1] if "/" in text[5:] else ""
    return text.lstrip("/")


def parse_manifest(body: bytes, key: str, modified: float = 0.0) -> Delivery:
    """Parse a manifest's JSON, or raise ManifestError saying what is missing.

    >>> d = parse_manifest(b'{"assemblyId": "a1", "reportKeys": ["r/x.csv.gz"],'
    ...     b' "billingPeriod": {"start": "20231101T000000.000Z"}, "reportName": "r"}',
    ...     "r/20231101-20231201/r-Manifest.json")
    >>> (d.report, d.billing_period.isoformat(), d.manifest_id, d.files)
    ('r', '2023-11-01', 'a1', ('r/x.csv.gz',))
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ManifestError(f"{key}: manifest is not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ManifestError(f"{key}: manifest is not a JSON object")
    refs = doc.get("reportKeys") or doc.get("dataFiles") or []
    files = tuple(k for k in (_file_key(r) for r in refs) if k)
    if not files:
        raise ManifestError(f"{key}: manifest lists no data files (reportKeys/dataFiles)")
    manifest_id = doc.get("assemblyId") or doc.get("executionId")
    if not manifest_id:
        # No id: the content itself identifies the delivery.
        manifest_id = stable_id("manifest-content", body)
    return Delivery(
        report=_report_name(doc, key),
        billing_period=_period(doc, key),
        manifest_id=str(manifest_id),
        manifest_key=key,
        files=files,
        modified=modified,
    )


def latest_per_period(deliveries: list[Delivery]) -> list[Delivery]:
    """Keep the newest manifest of each (report, billing period), oldest period first.

    Legacy CUR also keeps per-assembly copies of older manifests; ingesting an
    older one after a newer one would wrongly supersede the newer data, so only
    the most recently written manifest of a period counts (ties: shallower path).
    """
    best: dict[str, Delivery] = {}
    for d in deliveries:
        current = best.get(d.delivery_id)
        rank = (d.modified, -d.manifest_key.count("/"))
        if current is None or rank > (current.modified, -current.manifest_key.count("/")):
            best[d.delivery_id] = d
    return sorted(best.values(), key=lambda d: (d.billing_period, d.report))
