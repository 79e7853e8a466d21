"""A test session that starts the embedded stack and holds it until it is killed.

Not collected by the suite (the name does not start with ``test_``):
``test_nothing_left_behind`` runs it as its own pytest process, then kills
that process to see what is left.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.harness.wait import wait_for

READY_FILE_ENV = "SPENDSTREAM_TEST_HELD_READY_FILE"
# Far longer than the killer needs; bounded so a forgotten session still ends.
HOLD_S = 240.0


def test_hold_the_session_stack(kafka_bootstrap: str, postgres_dsn: str) -> None:
    ready = Path(os.environ[READY_FILE_ENV])
    tmp = ready.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "kafka": kafka_bootstrap}))
    tmp.replace(ready)
    stop = ready.with_suffix(".stop")  # nobody creates it: the session is killed first
    wait_for(stop.exists, timeout=HOLD_S, interval=0.5, description=f"{stop} to appear")
