"""Every way a start or a run can fail stops what it started (issue 18).

Each test makes one failure happen for real, in a separate process, and then
asks psutil, not the stack's own bookkeeping, whether any process of that
run is alive or any of its ports still listens.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from devstack import leftovers, stack
from devstack.ports import free_port
from devstack.tansu import resolve_binary
from tests.harness.leftover_checks import listening, owned_servers, processes_of
from tests.harness.wait import wait_for
from tests.integration.devstack.held_session import READY_FILE_ENV

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[3]
SPENDSTREAM = str(Path(sys.executable).with_name("spendstream"))
# `dev up` imports the CLI (~8 s on a loaded machine) and starts two servers.
CLI_TIMEOUT_S = 120.0
# Killed servers are reaped by init within milliseconds; PostgreSQL's fast
# shutdown takes up to a few seconds; the watchdog polls once a second.
GONE_TIMEOUT_S = 60.0
# A child session imports the suite's conftest and starts its stack: ~20 s idle.
SESSION_START_TIMEOUT_S = 150.0
# Polling the process table for a server that starts in milliseconds.
FAST_POLL_S = 0.02


def as_from_a_terminal() -> None:
    """In the child: Ctrl-C's default action, as in a terminal.

    A test run started in the background (``make test &``, some CI runners)
    has SIGINT ignored, children inherit that, and a Python started that way
    never raises KeyboardInterrupt: the test would not be interrupting anything.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the session's endpoints (children start their own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPENDSTREAM_")}
    return {**env, **extra}


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A state dir in /tmp that PostgreSQL's unprivileged user can enter."""
    path = Path(tempfile.mkdtemp(prefix="spendstream-leftovers-")).resolve()
    path.chmod(0o755)
    try:
        yield path
    finally:
        stack.down(path)
        shutil.rmtree(path, ignore_errors=True)


def dev_up(ports: tuple[int, int]) -> list[str]:
    """`spendstream dev up` on the given broker and PostgreSQL ports."""
    kafka, postgres = ports
    return [SPENDSTREAM, "dev", "up", "--kafka-port", str(kafka), "--postgres-port", str(postgres)]


def run_up(state_dir: Path, ports: tuple[int, int], **env: str) -> subprocess.CompletedProcess[str]:
    """Run `dev up` for ``state_dir`` to its end."""
    return subprocess.run(
        dev_up(ports),
        env=clean_env(SPENDSTREAM_STATE_DIR=str(state_dir), **env),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def assert_nothing_left(
    state_dir: Path | None, ports: tuple[int, ...], owner: int | None = None
) -> None:
    """Wait (bounded) until no process of the run lives and none of ``ports`` listens."""
    wait_for(
        lambda: not processes_of(state_dir=state_dir, owner=owner) and not listening(ports),
        timeout=GONE_TIMEOUT_S,
        description=f"no process of {state_dir or owner} and no listener on {ports}",
    )


def test_postgres_failing_after_the_broker_started_stops_the_broker(state_dir: Path) -> None:
    # A data directory PostgreSQL cannot use: initdb is skipped, the server exits.
    data = state_dir / "postgres" / "data"
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("7\n")
    (state_dir / "postgres" / "superuser.password").write_text("not-used\n")
    ports = (free_port(), free_port())

    result = run_up(state_dir, ports)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "postgresql exited during start-up" in result.stderr
    assert_nothing_left(state_dir, ports)


def test_broker_failing_after_postgres_started_stops_postgres(state_dir: Path) -> None:
    # The broker answers, then dies as soon as PostgreSQL is being started:
    # `up` notices when it creates the topics, after both servers started.
    wrapper = state_dir / "dying-tansu"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'"{resolve_binary()}" "$@" &\n'
        "child=$!\n"
        f'while [ ! -s "{state_dir}/postgres.pid" ]; do sleep {FAST_POLL_S}; done\n'
        'kill -9 "$child"\n'
        "exit 1\n"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    ports = (free_port(), free_port())

    result = run_up(state_dir, ports, CALF_TANSU_BIN=str(wrapper))

    assert result.returncode == 1, result.stdout + result.stderr
    assert "refused to create the topics" in result.stderr
    assert_nothing_left(state_dir, ports)


def test_sigint_between_the_two_starts_stops_the_broker(state_dir: Path) -> None:
    ports = (free_port(), free_port())
    with subprocess.Popen(
        dev_up(ports),
        env=clean_env(SPENDSTREAM_STATE_DIR=str(state_dir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_from_a_terminal,
    ) as up:
        try:
            # `up` creates the postgres dir once the broker is ready; initdb then
            # takes seconds, which is when the interrupt lands.
            wait_for(
                lambda: (state_dir / "postgres").exists(),
                timeout=CLI_TIMEOUT_S,
                interval=FAST_POLL_S,
                description="the broker to be ready and PostgreSQL's start to begin",
            )
            assert listening(ports[:1]), "the broker should be up by now"
            up.send_signal(signal.SIGINT)
            out, err = up.communicate(timeout=CLI_TIMEOUT_S)
        finally:
            if up.poll() is None:
                up.kill()
                up.wait()

    assert up.returncode == 130, out + err
    assert "interrupted: stopped what it had started" in err
    assert_nothing_left(state_dir, ports)


def _start_held_session(
    tmp: Path,
) -> tuple[subprocess.Popen[bytes], int, dict[str, tuple[int, tuple[int, ...]]]]:
    """A pytest process holding its session stack; (process, its pid, its servers)."""
    ready = tmp / "ready.json"
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "tests/integration/devstack/held_session.py",
         "-q", "-p", "no:cacheprovider", "-n", "0"],
        cwd=REPO_ROOT,
        env=clean_env(**{READY_FILE_ENV: str(ready)}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for(ready.exists, timeout=SESSION_START_TIMEOUT_S, description="the session's stack")
    pid = json.loads(ready.read_text())["pid"]
    servers = owned_servers(pid)
    assert set(servers) == {"kafka", "postgres"}, servers
    return session, pid, servers


@pytest.mark.parametrize("watchdog", ["alive", "killed too"])
def test_a_killed_session_leaves_nothing_for_the_next(watchdog: str, tmp_path: Path) -> None:
    session, pid, servers = _start_held_session(tmp_path)
    ports = tuple(port for _, listened in servers.values() for port in listened)
    (session_dir,) = {p.state_dir for p in leftovers.checkout_processes() if p.owner == pid}
    assert session_dir is not None
    assert session_dir.exists()
    watchdogs = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "tests.harness.watchdog" in (p.info["cmdline"] or [])
        and str(pid) in (p.info["cmdline"] or [])
    ]
    assert len(watchdogs) == 1
    if watchdog == "killed too":  # e.g. the OOM killer or `kill -9` of every python
        watchdogs[0].kill()
    session.kill()
    session.wait()

    if watchdog == "killed too":
        status = subprocess.run(
            [SPENDSTREAM, "dev", "status"],
            env=clean_env(SPENDSTREAM_STATE_DIR=str(tmp_path / "no-stack")),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        for component, (server_pid, _) in servers.items():
            assert f"ORPHAN {component} pid {server_pid} " in status.stdout, status.stdout
        after = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/unit/test_walls.py", "-q",
             "-p", "no:cacheprovider", "-n", "0"],
            cwd=REPO_ROOT,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=SESSION_START_TIMEOUT_S,
            check=False,
        )  # fmt: skip
        assert after.returncode == 0, after.stdout[-3000:]
        for component, (server_pid, _) in servers.items():
            assert f"stopped a leftover of an earlier run: {component} pid {server_pid}" in (
                after.stdout
            ), after.stdout[-3000:]
        assert f"removed its state dir {session_dir}" in after.stdout, after.stdout[-3000:]
    assert_nothing_left(None, ports, owner=pid)
    # Nor its ~50 MB of data: the watchdog removes it, or else the next session does.
    wait_for(
        lambda: not session_dir.exists(),
        timeout=GONE_TIMEOUT_S,
        description=f"{session_dir} removed",
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_bench_stops_its_stack(sig: signal.Signals) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "bench.bench_gateway"],
        cwd=REPO_ROOT,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=as_from_a_terminal,
    ) as bench:
        try:
            servers = wait_for(
                lambda: (s := owned_servers(bench.pid)) and set(s) == {"kafka", "postgres"} and s,
                timeout=CLI_TIMEOUT_S,
                interval=0.2,
                description="the bench's broker and PostgreSQL",
            )
            bench.send_signal(sig)  # mid-run: it is filling a million rows by now
            out, _ = bench.communicate(timeout=GONE_TIMEOUT_S)
        finally:
            if bench.poll() is None:
                bench.kill()
                bench.wait()

    assert bench.returncode != 0, out[-2000:]
    ports = tuple(port for _, listened in servers.values() for port in listened)
    assert_nothing_left(None, ports, owner=bench.pid)
