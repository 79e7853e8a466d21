"""Debian's Chromium for the browser tests, found or fetched without root.

The console is tested in a real browser, Debian's ``chromium`` package. A fresh
CI machine starts without it, and a non-root user cannot ``apt-get install``;
a test run should not change the system either. So when ``/usr/bin/chromium``
is missing, the package and those of its dependencies that are not installed
are fetched with ``apt-get download`` (no root needed) and unpacked with
``dpkg-deb -x`` into a per-user cache under ``/var/tmp``; a small launcher runs
the browser from there with its libraries on ``LD_LIBRARY_PATH``. The cache is
keyed by the candidate version, so an upgrade fetches afresh.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from devstack.exceptions import DevStackError
from devstack.pg_install import owned_dir

SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
PACKAGE = "chromium"
CACHE_ENV = "SPENDSTREAM_CHROMIUM_CACHE"
LAUNCHER = "chromium-launcher"
# The browser's own packages, fetched even when installed (a forced local copy).
OWN_PACKAGES = ("chromium", "chromium-common")
HOW_TO_INSTALL = (
    "install Debian's chromium (`apt-get install chromium`), or make `apt-get download` "
    "usable so the tests can fetch it into their cache"
)


class ChromiumUnavailableError(DevStackError):
    """No Chromium is installed and none could be fetched; the message says how to get one."""


def chromium_executable(*, prefer_system: bool = True) -> Path:
    """The Chromium to drive: the system's, else a cached unpacked copy, fetched if needed.

    Raises:
        ChromiumUnavailableError: neither is available and apt cannot fetch the packages.
    """
    if prefer_system and SYSTEM_CHROMIUM.exists():
        return SYSTEM_CHROMIUM
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise ChromiumUnavailableError(
            f"no Chromium at {SYSTEM_CHROMIUM} and no apt; {HOW_TO_INSTALL}"
        )
    version = _candidate_version()
    cache = _cache_root()
    # /var/tmp is shared: a cache someone else made or may write could hold their binary.
    cache.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    owned_dir(cache.parent)
    owned_dir(cache)
    launcher = cache / version / LAUNCHER
    with _locked(cache / ".lock"):
        if not launcher.exists():
            _fetch_into(cache / version)
    return launcher


def _cache_root() -> Path:
    override = os.environ.get(CACHE_ENV)
    return (
        Path(override) if override else Path("/var/tmp") / f"spendstream-{os.geteuid()}" / PACKAGE
    )


def _candidate_version() -> str:
    out = _run(["apt-cache", "policy", PACKAGE])
    for line in out.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "Candidate" and value.strip() not in ("", "(none)"):
            return value.strip().replace(":", "_").replace("~", "_")
    raise ChromiumUnavailableError(f"apt knows no '{PACKAGE}' package; {HOW_TO_INSTALL}")


def missing_packages() -> list[str]:
    """Chromium's packages plus what apt's resolver would install with them here.

    ``apt-get -s`` (a simulation, allowed without root) resolves alternatives
    and virtual packages the way a real install would.
    """
    plan = _run(["apt-get", "-s", "--no-install-recommends", "install", PACKAGE])
    wanted = {line.split()[1] for line in plan.splitlines() if line.startswith("Inst ")}
    return sorted(wanted | set(OWN_PACKAGES))


def _fetch_into(root: Path) -> None:
    staging = root.with_name(root.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    debs = staging / "debs"
    debs.mkdir(parents=True)
    tree = staging / "tree"
    _run(["apt-get", "download", *missing_packages()], cwd=debs)
    for deb in sorted(debs.glob("*.deb")):
        _run(["dpkg-deb", "-x", str(deb), str(tree)])
    shutil.rmtree(debs)
    binary = root / "tree" / "usr" / "lib" / PACKAGE / PACKAGE
    libs = sorted({str(p).replace(str(staging), str(root)) for p in _lib_dirs(tree)})
    launcher = staging / LAUNCHER
    launcher.write_text(
        "#!/bin/sh\n"
        "# Runs the unpacked Debian chromium with its unpacked libraries (devstack/chromium.py).\n"
        f'export LD_LIBRARY_PATH="{":".join(libs)}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"\n'
        f'exec "{binary}" "$@"\n'
    )
    launcher.chmod(0o755)
    shutil.rmtree(root, ignore_errors=True)
    staging.rename(root)


def _lib_dirs(tree: Path) -> Iterator[Path]:
    for pattern in (
        "lib/*-linux-gnu",
        "usr/lib/*-linux-gnu",
        "usr/lib/*-linux-gnu/*",
        "usr/lib/chromium",
    ):
        yield from (p for p in tree.glob(pattern) if p.is_dir() and any(p.glob("*.so*")))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One fetch at a time per cache (test workers start together)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise ChromiumUnavailableError(
            f"`{' '.join(cmd[:3])} …` failed: {detail.strip()[-500:]}; {HOW_TO_INSTALL}"
        ) from exc
    return done.stdout
