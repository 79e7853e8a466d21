"""Every process this checkout's stacks started, and stopping the ones nobody owns any more.

Each server (and each service the supervisor runs) records in its own
environment the checkout, its component, its state dir and, for a stack that
lives only as long as a test session, a demo or a bench, the owning process
(pid and start time, so a reused pid is not mistaken for the owner). The
process table is the record: it cannot be lost the way a pid file can, and a
process killed before writing anything carries it from its first instruction.

A process is an *orphan* when its owner has exited, or, for a ``dev up``
stack (no owner), when its state dir is gone or its pid file names another
process (unless an ``up`` or ``down`` is running for it right now). ``make
test`` and ``make demo`` stop orphans first and say so.
"""

from __future__ import annotations

import fcntl
import signal
from dataclasses import dataclass
from pathlib import Path

import psutil

from devstack import processes
from devstack.processes import CHECKOUT, CHECKOUT_ENV, COMPONENT_ENV, MARKER_ENV, OWNER_ENV

# PostgreSQL's fast shutdown writes a checkpoint; the others stop at once.
POSTGRES_GRACE_S = 30.0
OTHER_GRACE_S = 10.0
PID_FILES = {"kafka": "kafka.pid", "postgres": "postgres.pid"}


@dataclass(frozen=True)
class StackProcess:
    """One live process of this checkout's stacks."""

    pid: int
    component: str
    state_dir: Path | None
    owner: int | None
    orphan: bool
    ports: tuple[int, ...]

    def describe(self) -> str:
        """``kafka pid 123 port 4567 (state dir /tmp/x, owner 99 gone)``, for humans."""
        ports = ",".join(map(str, self.ports)) or "-"
        if self.owner is None:
            whose = "no owner (dev up)"
        else:
            whose = f"owner {self.owner} {'gone' if self.orphan else 'running'}"
        return f"{self.component or '?'} pid {self.pid} port {ports} ({self.state_dir}; {whose})"


def checkout_processes(checkout: Path = CHECKOUT) -> list[StackProcess]:
    """Every live process started by ``checkout``'s stacks, orphans included.

    A server's own children (PostgreSQL's backends, a service's worker pool)
    inherit its environment; they are stopped with it, so only the process
    that was started is listed.
    """
    found: dict[int, tuple[int, StackProcess]] = {}
    for proc in psutil.process_iter():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            env = proc.environ()
            if env.get(CHECKOUT_ENV) != str(checkout):
                continue
            found[proc.pid] = (proc.ppid(), _describe(proc, env))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    started = [p for parent, p in found.values() if parent not in found]
    return sorted(started, key=lambda p: (str(p.state_dir), p.component, p.pid))


def _describe(proc: psutil.Process, env: dict[str, str]) -> StackProcess:
    component = env.get(COMPONENT_ENV, "")
    state_dir = Path(env[MARKER_ENV]) if env.get(MARKER_ENV) else None
    owner_pid, orphan = None, False
    if env.get(OWNER_ENV):
        pid_text, started = env[OWNER_ENV].split(":", 1)
        owner_pid = int(pid_text)
        orphan = not _alive(owner_pid, started)
    elif state_dir is not None:
        pid_file = state_dir / PID_FILES.get(component, f"{component}.pid")
        stray = processes.read_pid(pid_file) != proc.pid and not _busy(state_dir)
        orphan = not state_dir.exists() or stray
    return StackProcess(proc.pid, component, state_dir, owner_pid, orphan, _listening(proc))


def _busy(state_dir: Path) -> bool:
    """True while an ``up``/``down`` holds the state dir's lock (its pid files are in flux)."""
    try:
        handle = (state_dir / ".lock").open("r")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _alive(pid: int, started: str) -> bool:
    """True when ``pid`` runs and is the same process that started at ``started``."""
    try:
        return f"{psutil.Process(pid).create_time():.3f}" == started
    except psutil.NoSuchProcess:
        return False


def _listening(proc: psutil.Process) -> tuple[int, ...]:
    """TCP ports ``proc`` listens on."""
    try:
        conns = proc.net_connections(kind="tcp")
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return ()
    return tuple(sorted({c.laddr.port for c in conns if c.status == psutil.CONN_LISTEN}))


def stop_leftovers(checkout: Path = CHECKOUT) -> list[StackProcess]:
    """Stop every orphan of ``checkout`` (and its children); return what was stopped."""
    orphans = [p for p in checkout_processes(checkout) if p.orphan]
    for orphan in orphans:
        try:
            proc = psutil.Process(orphan.pid)
        except psutil.NoSuchProcess:
            continue
        if orphan.component == "postgres":
            processes.stop_process(proc, signal_number=signal.SIGINT, grace_s=POSTGRES_GRACE_S)
        else:
            processes.stop_process(proc, signal_number=signal.SIGTERM, grace_s=OTHER_GRACE_S)
    return orphans
