"""A Chromium cache another user could write is refused, not run (devstack/chromium.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack import chromium
from devstack.exceptions import StateDirError


def test_a_world_writable_cache_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "base" / "chromium"
    cache.mkdir(parents=True)
    cache.chmod(0o777)
    planted = cache / chromium._candidate_version() / chromium.LAUNCHER
    planted.parent.mkdir()
    planted.write_text("#!/bin/sh\necho planted\n")
    monkeypatch.setenv(chromium.CACHE_ENV, str(cache))
    with pytest.raises(StateDirError, match="only its owner"):
        chromium.chromium_executable(prefer_system=False)
