"""The unprivileged account PostgreSQL runs as when we are root.

PostgreSQL refuses to start as root (a compromised server must not own the
machine), so a root ``dev up`` hands the data directory to another account and
drops privileges for ``initdb`` and ``postgres``.
"""

from __future__ import annotations

import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from devstack.exceptions import StateDirError

OS_USER_ENV = "SPENDSTREAM_POSTGRES_OS_USER"
# `nobody` exists on every Linux; override with OS_USER_ENV for a dedicated user.
DEFAULT_OS_USER = "nobody"


@dataclass(frozen=True)
class OsUser:
    """The operating-system account the server runs as."""

    name: str
    uid: int
    gid: int


def server_os_user() -> OsUser | None:
    """The unprivileged account to run as when we are root; ``None`` when we are not."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get(OS_USER_ENV, DEFAULT_OS_USER)
    try:
        entry = pwd.getpwnam(name)
    except KeyError as exc:
        raise StateDirError(
            f"PostgreSQL refuses to run as root and OS user {name!r} does not exist; "
            f"create it (`useradd --system {name}`) or set {OS_USER_ENV} to an existing user."
        ) from exc
    return OsUser(name=name, uid=entry.pw_uid, gid=entry.pw_gid)


def is_reachable(path: Path, user: OsUser) -> bool:
    """True when ``user`` can traverse every existing parent of ``path`` (postgres needs it)."""
    return _first_barrier(path, user) is None


def check_reachable(path: Path, user: OsUser) -> None:
    """Make sure ``user`` can traverse every parent of ``path``.

    Raises:
        StateDirError: naming the first folder the user cannot enter.
    """
    barrier = _first_barrier(path, user)
    if barrier is not None:
        raise StateDirError(
            f"PostgreSQL runs as OS user {user.name!r} (it refuses root), "
            f"which cannot enter {barrier}."
        )


def _first_barrier(path: Path, user: OsUser) -> Path | None:
    """The outermost existing parent of ``path`` that ``user`` may not traverse."""
    for parent in reversed(path.parents):
        try:
            info = parent.stat()
        except FileNotFoundError:
            return None  # created later by us, with modes we choose
        if info.st_uid == user.uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid == user.gid:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return parent
    return None
