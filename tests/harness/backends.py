"""Real Kafka and PostgreSQL for a test session, from the best source available.

Order, per backend: an explicit endpoint in the environment
(``SPENDSTREAM_TEST_KAFKA_BOOTSTRAP`` / ``SPENDSTREAM_TEST_POSTGRES_DSN``), then
testcontainers when a Docker engine answers, then the embedded stack
(Tansu + PostgreSQL) in a temporary state dir. Whatever the provider started
it stops when the session ends.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import devstack
from devstack import stack
from devstack.ports import free_port
from devstack.processes import LAUNCH_TIMEOUT_S
from devstack.tansu import answers_metadata
from tests.harness.wait import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_ENV = "SPENDSTREAM_TEST_KAFKA_BOOTSTRAP"
POSTGRES_ENV = "SPENDSTREAM_TEST_POSTGRES_DSN"
# Same as the integration images in docker-compose.yml: tests and compose agree.
# A session's embedded stack lives in a temp dir with this prefix, removed at its end.
SESSION_DIR_PREFIX = "spendstream-test-"
KAFKA_IMAGE = "apache/kafka:3.9.1"
POSTGRES_IMAGE = "postgres:17.2-alpine"
# A Docker engine that does not answer a ping within 3 s is not one to run
# tests on; the embedded stack is the better choice then.
DOCKER_PING_TIMEOUT_S = 3
DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"
# The KRaft broker in a container needs ~5-15 s to start; 90 s covers an image
# already pulled on a slow CI machine.
CONTAINER_READY_TIMEOUT_S = 90.0
# Probe often: readiness is the only thing the session is waiting on.
CONTAINER_PROBE_INTERVAL_S = 0.5


def docker_available() -> bool:
    """True when a Docker engine answers a ping.

    Without ``DOCKER_HOST`` the engine can only be the default Unix socket, so
    a missing socket file answers "no" at once: docker-py leaks the socket of a
    failed connection, which warnings-as-errors would turn into a failure.
    """
    if not os.environ.get("DOCKER_HOST") and not Path(DEFAULT_DOCKER_SOCKET).is_socket():
        return False
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=DOCKER_PING_TIMEOUT_S)
    except DockerException:
        return False
    try:
        return bool(client.ping())
    except DockerException:
        return False
    finally:
        client.close()


def start_watchdog(state_dir: Path) -> None:
    """Start ``tests.harness.watchdog``: it stops the stack if this process dies first.

    It goes through the devstack launcher so it is detached (a killed pytest
    cannot take it down) and this process keeps no child to reap.
    """
    launcher = Path(devstack.__file__).with_name("launcher.py")
    argv = [sys.executable, "-m", "tests.harness.watchdog"]
    argv += ["--owner-pid", str(os.getpid()), "--state-dir", str(state_dir)]
    launch = [sys.executable, "-I", str(launcher), "--log", str(state_dir / "watchdog.log")]
    subprocess.run(
        [*launch, "--cwd", str(REPO_ROOT), "--", *argv],
        check=True,
        capture_output=True,
        timeout=LAUNCH_TIMEOUT_S,
    )


class BackendProvider:
    """Starts each backend on first use and stops everything at :meth:`close`."""

    def __init__(self) -> None:
        self._cleanup = ExitStack()
        self._kafka: str | None = None
        self._postgres: str | None = None
        self._embedded: stack.UpResult | None = None
        self._docker: bool | None = None
        self.sources: dict[str, str] = {}

    def kafka_bootstrap(self) -> str:
        """``host:port`` of a Kafka-compatible broker for this session."""
        if self._kafka is None:
            self._kafka = os.environ.get(KAFKA_ENV) or self._start_kafka()
            self.sources.setdefault("kafka", "env")
        return self._kafka

    def postgres_dsn(self) -> str:
        """DSN of a PostgreSQL database for this session."""
        if self._postgres is None:
            self._postgres = os.environ.get(POSTGRES_ENV) or self._start_postgres()
            self.sources.setdefault("postgres", "env")
        return self._postgres

    def close(self) -> None:
        """Stop whatever this provider started."""
        self._cleanup.close()

    def _use_docker(self) -> bool:
        if self._docker is None:
            self._docker = docker_available()
        return self._docker

    def _start_kafka(self) -> str:
        if self._use_docker():
            self.sources["kafka"] = "testcontainers"
            return self._kafka_container()
        self.sources["kafka"] = "embedded"
        return self._embedded_stack().kafka_bootstrap_servers

    def _start_postgres(self) -> str:
        if self._use_docker():
            from testcontainers.postgres import PostgresContainer

            self.sources["postgres"] = "testcontainers"
            container = self._cleanup.enter_context(PostgresContainer(POSTGRES_IMAGE, driver=None))
            return str(container.get_connection_url())
        self.sources["postgres"] = "embedded"
        return self._embedded_stack().postgres_dsn

    def _embedded_stack(self) -> stack.UpResult:
        if self._embedded is None:
            state_dir = Path(tempfile.mkdtemp(prefix=SESSION_DIR_PREFIX))
            # PostgreSQL runs as an unprivileged user when we are root: it must
            # be able to enter the state dir (mkdtemp makes it 0700).
            state_dir.chmod(0o755)
            self._cleanup.callback(shutil.rmtree, state_dir, ignore_errors=True)
            self._cleanup.callback(stack.down, state_dir)
            start_watchdog(state_dir)
            # All or nothing, owned by this process: a failed or interrupted
            # start stops what it started, and if this process is killed the
            # watchdog or the next session (devstack.leftovers) stops the rest.
            self._embedded = stack.up(state_dir, owner=os.getpid())
        return self._embedded

    def _kafka_container(self) -> str:
        """A single-node KRaft broker from the apache/kafka image.

        testcontainers' ``KafkaContainer`` drives Confluent images only, so the
        container is configured here; the host port is fixed up front because
        the broker must advertise the address clients reach it on.
        """
        from testcontainers.core.container import DockerContainer

        port = free_port()
        container = (
            DockerContainer(KAFKA_IMAGE)
            .with_bind_ports(9092, port)
            .with_env("KAFKA_NODE_ID", "1")
            .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
            .with_env("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
            .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://127.0.0.1:{port}")
            .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
            .with_env(
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
            )
            .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
            .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
            .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
            .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
            .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
        )
        self._cleanup.enter_context(container)
        bootstrap = f"127.0.0.1:{port}"
        wait_for(
            lambda: asyncio.run(answers_metadata(bootstrap)),
            timeout=CONTAINER_READY_TIMEOUT_S,
            interval=CONTAINER_PROBE_INTERVAL_S,
            description=f"{KAFKA_IMAGE} to answer metadata on {bootstrap}",
        )
        return bootstrap


def is_session_dir(path: Path | None) -> bool:
    """Whether ``path`` is a test session's own temp state dir (safe to delete once it is dead)."""
    return (
        path is not None
        and path.name.startswith(SESSION_DIR_PREFIX)
        and path.parent == Path(tempfile.gettempdir())
    )
