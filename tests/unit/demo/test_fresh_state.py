"""A demo run starts from an empty state dir, and never empties someone else's."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.fresh_state import MARKER, fresh_state_dir
from demo.pipeline import DemoError


def test_a_second_run_finds_the_first_runs_state_gone(tmp_path: Path) -> None:
    root = fresh_state_dir(tmp_path / "demo", default=False)
    (root / "postgres").mkdir()
    (root / "postgres" / "PG_VERSION").write_text("16")
    again = fresh_state_dir(root, default=False)
    assert sorted(p.name for p in again.iterdir()) == [MARKER]


def test_a_foreign_directory_is_refused_and_kept(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(DemoError, match="not made by the demo"):
        fresh_state_dir(tmp_path, default=False)
    assert (tmp_path / "thesis.tex").read_text() == "years of work"


def test_the_default_directory_of_an_older_run_is_emptied_without_a_marker(tmp_path: Path) -> None:
    (tmp_path / "stack.env").write_text("KAFKA=old")
    fresh_state_dir(tmp_path, default=True)
    assert not (tmp_path / "stack.env").exists()
