"""The ingestor's small durable state: one JSON file, replaced atomically.

Three sections, each written only after the data it describes is acked by Kafka:

* ``deliveries`` — the delivered set: delivery key -> attempt id, rows, cost
  total, completion time. A re-run skips these (``--force`` re-ingests).
* ``watermarks`` — CloudWatch: per (account, region, instance, metric, stat)
  the end of the last fully-closed period published, so a restart continues
  with no gap and no duplicate.
* ``inventory`` — per (account, region, instance) the hash of the last published
  state, so only changes are published and vanished instances get a
  ``deleted=True`` record.

Why a JSON file: the state is small (thousands of keys), read once at start and
written a few times a minute; a write goes to a temporary file that is fsynced
and renamed over the old one, so a crash leaves either the old or the new state,
never a torn file. One ingestor process owns one state directory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from services.ingestor.exceptions import IngestorError

STATE_FILE = "ingestor-state.json"
SECTIONS = ("deliveries", "watermarks", "inventory")


class StateStore:
    """Load-once, write-through store of the three sections above."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / STATE_FILE
        directory.mkdir(parents=True, exist_ok=True)
        self._data: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
        if self.path.exists():
            try:
                loaded = orjson.loads(self.path.read_bytes())
            except orjson.JSONDecodeError as exc:
                raise IngestorError(
                    f"{self.path} is not valid JSON ({exc}); restore it or delete it to re-ingest"
                ) from exc
            for section in SECTIONS:
                self._data[section].update(loaded.get(section, {}))

    def _write(self) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(orjson.dumps(self._data, option=orjson.OPT_INDENT_2))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # deliveries -------------------------------------------------------------
    def is_delivered(self, key: str) -> bool:
        """Whether the delivery manifest ``key`` completed before."""
        return key in self._data["deliveries"]

    def mark_delivered(self, key: str, record: dict[str, Any]) -> None:
        """Remember a completed delivery (after every marker is acked)."""
        self._data["deliveries"][key] = record
        self._write()

    def deliveries(self) -> dict[str, Any]:
        """A copy of the delivered set."""
        return dict(self._data["deliveries"])

    # watermarks -------------------------------------------------------------
    def watermark(self, key: str) -> str | None:
        """ISO time up to which a metric stream is published, or None."""
        value = self._data["watermarks"].get(key)
        return str(value) if value is not None else None

    def set_watermarks(self, marks: dict[str, str]) -> None:
        """Advance several watermarks in one atomic write."""
        if marks:
            self._data["watermarks"].update(marks)
            self._write()

    # inventory --------------------------------------------------------------
    def inventory(self) -> dict[str, Any]:
        """Instance key -> hash and key fields of the last published state."""
        return dict(self._data["inventory"])

    def set_inventory(self, hashes: dict[str, Any], scope_prefixes: list[str]) -> None:
        """Replace the hashes of the scanned (account, region) scopes with ``hashes``."""
        kept = {
            k: v
            for k, v in self._data["inventory"].items()
            if not any(k.startswith(p) for p in scope_prefixes)
        }
        kept.update(hashes)
        self._data["inventory"] = kept
        self._write()
