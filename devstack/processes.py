"""Detached server processes: start, recognise, and stop them without leftovers.

Each process the stack starts carries the state directory in an environment
variable (:data:`MARKER_ENV`). A pid alone can be reused by an unrelated
process after a reboot or a crash; the marker lets ``status`` and ``down``
tell "our broker" from "some process that happens to have that pid", and lets
``down`` sweep up anything of ours whose pid file was lost.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

from devstack.exceptions import DevStackError

MARKER_ENV = "SPENDSTREAM_DEVSTACK_STATE_DIR"
# Which checkout started the process, and (for a stack that lives only as long
# as a test session, a demo or a bench) which process owns it: a process whose
# owner is gone is a leftover the next run may stop (see devstack.leftovers).
CHECKOUT_ENV = "SPENDSTREAM_DEVSTACK_CHECKOUT"
OWNER_ENV = "SPENDSTREAM_DEVSTACK_OWNER"
COMPONENT_ENV = "SPENDSTREAM_DEVSTACK_COMPONENT"
CHECKOUT = Path(__file__).resolve().parents[1]
# The launcher only forks and execs; if it takes longer the machine is wedged.
LAUNCH_TIMEOUT_S = 30.0
# After SIGKILL the kernel tears the process down in milliseconds; 10 s only
# guards against a process stuck in uninterruptible I/O.
KILL_WAIT_S = 10.0
# Servers exit within tens of milliseconds of a signal; polling at 50 ms keeps
# `down` snappy without spinning.
POLL_INTERVAL_S = 0.05


def spawn_detached(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    state_dir: Path,
    log_path: Path,
    cwd: Path,
    uid: int | None = None,
    gid: int | None = None,
    component: str = "",
    owner: int | None = None,
    pid_file: Path | None = None,
) -> int:
    """Start ``argv`` in its own session, re-parented to init; return its pid.

    Output goes to ``log_path``. ``uid``/``gid`` drop privileges (PostgreSQL
    refuses to run as root). ``pid_file`` records the pid the moment it is
    known, so a start cut short (an error, Ctrl-C) can still stop it.
    ``owner`` is the process whose death makes this one a leftover.
    """
    launcher = Path(__file__).with_name("launcher.py")
    cmd = [sys.executable, "-I", str(launcher), "--log", str(log_path), "--cwd", str(cwd)]
    if uid is not None:
        cmd += ["--uid", str(uid)]
    if gid is not None:
        cmd += ["--gid", str(gid)]
    child_env = {**env, **markers(component, owner), MARKER_ENV: str(state_dir)}
    done = subprocess.run(
        [*cmd, "--", *argv],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=LAUNCH_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip().isdigit():
        raise DevStackError(
            f"could not start {argv[0]}: {done.stderr.strip() or done.stdout.strip()}"
        )
    pid = int(done.stdout.strip())
    if pid_file is not None:
        write_pid(pid_file, pid)
    return pid


def markers(component: str, owner: int | None) -> dict[str, str]:
    """Environment variables naming the checkout, ``component`` and the owner (pid:start time)."""
    values = {CHECKOUT_ENV: str(CHECKOUT), COMPONENT_ENV: component}
    if owner is not None:
        values[OWNER_ENV] = f"{owner}:{psutil.Process(owner).create_time():.3f}"
    return values


def is_ours(proc: psutil.Process, state_dir: Path) -> bool:
    """True when ``proc`` is alive and was started for ``state_dir``."""
    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return bool(proc.environ().get(MARKER_ENV) == str(state_dir))
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def owned_process(pid: int | None, state_dir: Path) -> psutil.Process | None:
    """The live process ``pid`` if it belongs to ``state_dir``, else ``None``."""
    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None
    return proc if is_ours(proc, state_dir) else None


def stack_processes(state_dir: Path) -> list[psutil.Process]:
    """Every live process started for ``state_dir`` (servers and their children)."""
    return [proc for proc in psutil.process_iter() if is_ours(proc, state_dir)]


def stop_process(proc: psutil.Process, *, signal_number: int, grace_s: float) -> None:
    """Send ``signal_number`` to ``proc``; SIGKILL it and its children after ``grace_s``."""
    try:
        children = proc.children(recursive=True)
        proc.send_signal(signal_number)
    except psutil.NoSuchProcess:
        return
    leftovers = _wait_gone([proc], grace_s) + _wait_gone(children, 0.0)
    for straggler in leftovers:
        try:
            straggler.kill()
        except psutil.NoSuchProcess:
            continue
    still = _wait_gone(leftovers, KILL_WAIT_S)
    if still:
        pids = ", ".join(str(p.pid) for p in still)
        raise DevStackError(
            f"processes {pids} survived SIGKILL; inspect them with `ps -o pid,stat,cmd -p {pids}`"
        )


def _is_gone(proc: psutil.Process) -> bool:
    """True when ``proc`` exited; a zombie counts as gone (only its parent can reap it)."""
    try:
        return bool(proc.status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def _wait_gone(procs: Sequence[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """Poll until all of ``procs`` are gone or ``timeout_s`` passes; return the survivors."""
    deadline = time.monotonic() + timeout_s
    alive = [p for p in procs if not _is_gone(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL_S)
        alive = [p for p in alive if not _is_gone(p)]
    return alive


def read_pid(path: Path) -> int | None:
    """The pid in ``path``, or ``None`` when the file is missing or garbled."""
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def write_pid(path: Path, pid: int) -> None:
    """Record ``pid`` in ``path``."""
    path.write_text(f"{pid}\n")
