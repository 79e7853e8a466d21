"""`spendstream dev up/down/status` as a user runs them: real processes, real clients."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from devstack import processes, stack
from devstack.state import IDEMPOTENCE_ENV, KAFKA_ENV, POSTGRES_ENV, StatePaths, read_env
from tests.harness.wait import wait_for

# Each test runs the CLI and clients as fresh Python processes (6-8 of them);
# ~12 s on an idle machine, but each start costs 20-40 s on an overloaded
# 2-CPU CI runner, so these get twice the suite's default timeout.
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

REPO_ROOT = Path(__file__).resolve().parents[2]
SPENDSTREAM = str(Path(sys.executable).with_name("spendstream"))
# `dev up` takes ~2 s (initdb included); 120 s bounds a wedged machine only.
CLI_TIMEOUT_S = 120.0
# Two librdkafka clients each joining/flushing on loopback: well under 60 s.
CLIENT_TIMEOUT_S = 90.0
# `down` returns once the servers exited; init reaps them within milliseconds.
REAP_TIMEOUT_S = 10.0


def run_cli(state_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the `spendstream` console script against ``state_dir``."""
    return subprocess.run(
        [SPENDSTREAM, "dev", *args],
        env={**os.environ, "SPENDSTREAM_STATE_DIR": str(state_dir), **env},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def run_client(
    mode: str, bootstrap: str, topic: str, count: int
) -> subprocess.CompletedProcess[str]:
    """A confluent-kafka producer or consumer in its own process."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.harness.confluent_client",
            mode,
            bootstrap,
            topic,
            str(count),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_S,
        check=False,
    )


def leftover_processes(state_dir: Path) -> list[str]:
    """Every live process started for ``state_dir`` or naming it on its command line."""
    found = [f"{p.pid} (marker)" for p in processes.stack_processes(state_dir)]
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(state_dir) in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(f"{proc.info['pid']} {cmdline}")
    return found


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A private state dir; the stack in it is stopped and removed whatever happens."""
    path = Path(tempfile.mkdtemp(prefix="spendstream-devstack-")).resolve()
    path.chmod(0o755)  # PostgreSQL runs as an unprivileged user when we are root
    try:
        yield path
    finally:
        stack.down(path)  # in-process: a safety net, the CLI itself is under test
        shutil.rmtree(path, ignore_errors=True)


async def list_topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def select_one(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("select 1"))
    finally:
        await conn.close()


def test_up_serves_kafka_and_postgres_then_down_leaves_nothing(state_dir: Path) -> None:
    up = run_cli(state_dir, "up")
    assert up.returncode == 0, up.stderr
    assert "started: kafka, postgres" in up.stdout
    env = read_env(state_dir / "stack.env")
    bootstrap, dsn = env[KAFKA_ENV], env[POSTGRES_ENV]
    assert dsn.startswith("postgresql://")
    assert dsn.endswith("/spendstream")
    assert env[IDEMPOTENCE_ENV] == "false"

    status = run_cli(state_dir, "status")
    assert status.returncode == 0, status.stdout
    assert [line.split()[:2] for line in status.stdout.splitlines()[:2]] == [
        ["kafka", "running"],
        ["postgres", "running"],
    ]

    produced = run_client("produce", bootstrap, "devstack.roundtrip", 20)
    assert produced.returncode == 0, produced.stdout + produced.stderr
    consumed = run_client("consume", bootstrap, "devstack.roundtrip", 20)
    assert consumed.returncode == 0, consumed.stdout + consumed.stderr
    assert "spendstream.cur.line-items.v1" in asyncio.run(list_topics(bootstrap))
    assert asyncio.run(select_one(dsn)) == 1

    again = run_cli(state_dir, "up")
    assert again.returncode == 0, again.stderr
    assert "already up" in again.stdout
    assert read_env(state_dir / "stack.env") == env

    paths = StatePaths.resolve(state_dir)
    pids = [processes.read_pid(paths.kafka_pid), processes.read_pid(paths.postgres_pid)]
    down = run_cli(state_dir, "down")
    assert down.returncode == 0, down.stderr
    # init reaps the exited servers a moment after they exit: wait for that.
    wait_for(
        lambda: not any(psutil.pid_exists(pid) for pid in pids if pid is not None),
        timeout=REAP_TIMEOUT_S,
        description=f"pids {pids} to disappear after `dev down`",
    )
    assert leftover_processes(state_dir) == []
    assert not paths.kafka_pid.exists()
    assert not paths.postgres_pid.exists()

    stopped = run_cli(state_dir, "status")
    assert stopped.returncode == 3
    assert [line.split()[:2] for line in stopped.stdout.splitlines()[:2]] == [
        ["kafka", "stopped"],
        ["postgres", "stopped"],
    ]


def test_postgres_keeps_its_data_across_down_and_up(state_dir: Path) -> None:
    assert run_cli(state_dir, "up").returncode == 0
    dsn = read_env(state_dir / "stack.env")[POSTGRES_ENV]

    async def write() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("create table kept (v int); insert into kept values (42)")
        finally:
            await conn.close()

    asyncio.run(write())
    assert run_cli(state_dir, "down").returncode == 0
    assert run_cli(state_dir, "up").returncode == 0
    new_dsn = read_env(state_dir / "stack.env")[POSTGRES_ENV]

    async def read() -> int:
        conn = await asyncpg.connect(new_dsn)
        try:
            return int(await conn.fetchval("select v from kept"))
        finally:
            await conn.close()

    assert asyncio.run(read()) == 42


@pytest.mark.parametrize("option", ["--kafka-port", "--postgres-port"])
def test_taken_port_fails_clearly_and_starts_nothing(state_dir: Path, option: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_cli(state_dir, "up", option, str(port))

    assert result.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in result.stderr
    assert leftover_processes(state_dir) == []
    # The failure stays in the log; it must not fail the next, healthy start.
    retry = run_cli(state_dir, "up")
    assert retry.returncode == 0, retry.stderr


def test_missing_broker_binary_fails_clearly(state_dir: Path) -> None:
    result = run_cli(state_dir, "up", CALF_TANSU_BIN=str(state_dir / "no-such-tansu"))

    assert result.returncode == 1
    assert "CALF_TANSU_BIN" in result.stderr
    assert "does not point at an executable file" in result.stderr
    assert leftover_processes(state_dir) == []
