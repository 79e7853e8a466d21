from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from services.ingestor.cur.manifest import latest_per_period, parse_manifest
from services.ingestor.exceptions import IngestorError, ManifestError
from services.ingestor.state import StateStore


def test_cur2_manifest_with_s3_uris() -> None:
    body = json.dumps(
        {
            "executionId": "e-1",
            "exportARN": "arn:aws:bcm-data-exports:us-east-1:1:export/daily-cur2",
            "billingPeriod": {"start": "2024-05-01T00:00:00.000Z"},
            "dataFiles": ["s3://bkt/p/daily-cur2/data/BILLING_PERIOD=2024-05/a.parquet"],
        }
    ).encode()
    d = parse_manifest(
        body, "p/daily-cur2/metadata/BILLING_PERIOD=2024-05/daily-cur2-Manifest.json"
    )
    assert (d.report, d.billing_period, d.manifest_id) == ("daily-cur2", date(2024, 5, 1), "e-1")
    assert d.files == ("p/daily-cur2/data/BILLING_PERIOD=2024-05/a.parquet",)


def test_period_from_the_path_and_content_id_when_the_manifest_lacks_them() -> None:
    body = json.dumps({"dataFiles": ["x/a.csv.gz"]}).encode()
    d = parse_manifest(body, "e/metadata/BILLING_PERIOD=2024-02/e-Manifest.json")
    assert d.billing_period == date(2024, 2, 1)
    assert (
        d.manifest_id
        == parse_manifest(body, "e/metadata/BILLING_PERIOD=2024-02/e-Manifest.json").manifest_id
    )


@pytest.mark.parametrize("body", [b"{", b"[]", b'{"assemblyId": "a", "reportKeys": []}'])
def test_bad_manifests_are_refused(body: bytes) -> None:
    with pytest.raises(ManifestError):
        parse_manifest(body, "r/20231101-20231201/r-Manifest.json")


def test_only_the_newest_manifest_of_a_period_counts() -> None:
    def manifest(asm: str, key: str, mtime: float):
        body = json.dumps({"assemblyId": asm, "reportKeys": ["k"], "reportName": "r"}).encode()
        return parse_manifest(body, key, mtime)

    old = manifest("a1", "r/20231101-20231201/a1/r-Manifest.json", 1.0)
    top = manifest("a2", "r/20231101-20231201/r-Manifest.json", 2.0)
    copy = manifest("a2", "r/20231101-20231201/a2/r-Manifest.json", 2.0)
    dec = manifest("a3", "r/20231201-20240101/r-Manifest.json", 0.5)
    assert latest_per_period([dec, old, copy, top]) == [top, dec]
    assert old.delivery_id == top.delivery_id
    assert old.key != top.key


def test_state_survives_a_restart_and_rejects_a_torn_file(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.mark_delivered("k1", {"rows": 3})
    store.set_watermarks({"a/r/i/CPUUtilization/Average": "2024-01-01T00:05:00+00:00"})
    store.set_inventory({"1/r/i-1": {"hash": "h"}}, ["1/r/"])
    again = StateStore(tmp_path)
    assert again.is_delivered("k1")
    assert not again.is_delivered("k2")
    assert again.watermark("a/r/i/CPUUtilization/Average") == "2024-01-01T00:05:00+00:00"
    assert again.inventory() == {"1/r/i-1": {"hash": "h"}}
    assert [p.name for p in tmp_path.iterdir()] == ["ingestor-state.json"]
    (tmp_path / "ingestor-state.json").write_text('{"deliveries": ')
    with pytest.raises(IngestorError, match="not valid JSON"):
        StateStore(tmp_path)
