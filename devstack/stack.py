"""The embedded single-machine stack: Tansu + PostgreSQL, started and stopped together.

``up`` is idempotent: a component that is already running for the state dir is
kept (and reported), a missing one is started. It is also all-or-nothing: if
any step fails or is interrupted (Ctrl-C, SIGTERM), everything this call
started is stopped before the error propagates. ``down`` stops both, removes
their pid files and sweeps up any process still carrying the state dir's
marker, so nothing is left behind even after a lost pid file.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiokafka.errors import KafkaError
from cryptography.fernet import Fernet

from devstack import postgres, processes, tansu
from devstack.exceptions import DevStackError
from devstack.interrupts import no_interrupts, sigterm_as_interrupt
from devstack.state import (
    GATEWAY_SECRETS_ENV,
    IDEMPOTENCE_ENV,
    KAFKA_ENV,
    POSTGRES_ENV,
    StatePaths,
    read_env,
    write_env,
)
from shared.settings import SecurityProtocol, SpendstreamSettings
from shared.topics import ensure_topics

KAFKA = "kafka"
POSTGRES = "postgres"
# Whatever is left after both servers stopped is a stray child; it gets the
# same short grace as the broker before SIGKILL.
SWEEP_GRACE_S = 5.0


@dataclass(frozen=True)
class ComponentStatus:
    """One server of the stack."""

    name: str
    running: bool
    pid: int | None
    endpoint: str | None


@dataclass(frozen=True)
class StackStatus:
    """Both servers, plus where their endpoints are written."""

    state_dir: Path
    env_file: Path
    components: tuple[ComponentStatus, ...]

    @property
    def running(self) -> bool:
        """True when every component runs."""
        return all(c.running for c in self.components)


@dataclass(frozen=True)
class UpResult:
    """Endpoints of a running stack; ``started`` names the components this call started."""

    kafka_bootstrap_servers: str
    postgres_dsn: str
    env_file: Path
    started: tuple[str, ...]


def up(
    state_dir: Path | None = None,
    *,
    kafka_port: int | None = None,
    postgres_port: int | None = None,
    owner: int | None = None,
) -> UpResult:
    """Start whatever is not running yet, create the topics, write ``stack.env``.

    ``owner`` is the process the stack lives for (a test session, the demo, a
    bench): once it is gone, the next run treats what is left as leftovers
    (:mod:`devstack.leftovers`). ``None`` is a stack that stays up until ``down``.

    Raises:
        DevStackError: a component could not start.
        KeyboardInterrupt: Ctrl-C or SIGTERM during the start.
        In both cases every process this call started is stopped first.
    """
    paths = StatePaths.resolve(state_dir)
    with paths.locked():
        before = {proc.pid for proc in processes.stack_processes(paths.root)}
        env = read_env(paths.env_file)
        started: list[str] = []
        try:
            bootstrap = _ensure_kafka(paths, env.get(KAFKA_ENV), kafka_port, started, owner)
            dsn = _ensure_postgres(paths, env.get(POSTGRES_ENV), postgres_port, started, owner)
            # aiokafka's idempotent producer gets UnknownError from Tansu's
            # InitProducerId (see deploy/embedded/README.md): services must not ask.
            values = {
                KAFKA_ENV: bootstrap,
                POSTGRES_ENV: dsn,
                IDEMPOTENCE_ENV: "false",
                GATEWAY_SECRETS_ENV: env.get(GATEWAY_SECRETS_ENV) or Fernet.generate_key().decode(),
            }
            write_env(paths.env_file, values)
            asyncio.run(_ensure_topics(bootstrap))
        except BaseException:
            with no_interrupts():
                _undo_start(paths, before)
            raise
    return UpResult(bootstrap, dsn, paths.env_file, tuple(started))


@contextmanager
def owned_stack(
    state_dir: Path, *, kafka_port: int | None = None, postgres_port: int | None = None
) -> Iterator[UpResult]:
    """The stack for this process only: started all-or-nothing, always stopped on exit.

    For the demo, benches and tests: SIGTERM stops it as cleanly as Ctrl-C,
    and a process killed outright leaves servers the next run stops (their
    owner, this process, is gone).
    """
    try:
        with sigterm_as_interrupt():
            yield up(
                state_dir, kafka_port=kafka_port, postgres_port=postgres_port, owner=os.getpid()
            )
    finally:
        with no_interrupts():
            down(state_dir)


def _undo_start(paths: StatePaths, before: set[int]) -> None:
    """Stop every server of the state dir that was not running before this ``up``."""
    for component in (KAFKA, POSTGRES):
        pid_file = paths.kafka_pid if component == KAFKA else paths.postgres_pid
        if processes.read_pid(pid_file) not in before:
            _stop(paths, [component])
    for stray in processes.stack_processes(paths.root):
        if stray.pid not in before:
            processes.stop_process(stray, signal_number=signal.SIGTERM, grace_s=SWEEP_GRACE_S)


def down(state_dir: Path | None = None) -> list[int]:
    """Stop both servers and every stray process of this state dir; return the pids stopped."""
    paths = StatePaths.resolve(state_dir)
    with paths.locked():
        stopped = [pid for pid in (_running(paths, KAFKA), _running(paths, POSTGRES)) if pid]
        _stop(paths, [KAFKA, POSTGRES])
        for stray in processes.stack_processes(paths.root):
            stopped.append(stray.pid)
            processes.stop_process(stray, signal_number=signal.SIGTERM, grace_s=SWEEP_GRACE_S)
        paths.env_file.unlink(missing_ok=True)
    return stopped


def status(state_dir: Path | None = None) -> StackStatus:
    """Report which components run for the state dir, with their pids and endpoints."""
    paths = StatePaths.resolve(state_dir)
    env = read_env(paths.env_file)
    kafka_pid = _running(paths, KAFKA)
    pg_pid = _running(paths, POSTGRES)
    components = (
        ComponentStatus(
            KAFKA, kafka_pid is not None, kafka_pid, env.get(KAFKA_ENV) if kafka_pid else None
        ),
        ComponentStatus(
            POSTGRES,
            pg_pid is not None,
            pg_pid,
            redact_dsn(env.get(POSTGRES_ENV)) if pg_pid else None,
        ),
    )
    return StackStatus(paths.root, paths.env_file, components)


def _running(paths: StatePaths, component: str) -> int | None:
    """The pid of ``component`` if it runs for this state dir."""
    pid_file = paths.kafka_pid if component == KAFKA else paths.postgres_pid
    proc = processes.owned_process(processes.read_pid(pid_file), paths.root)
    return proc.pid if proc else None


def _ensure_kafka(
    paths: StatePaths, known: str | None, port: int | None, started: list[str], owner: int | None
) -> str:
    """The running broker's bootstrap servers, starting a broker when there is none."""
    if known is not None and _running(paths, KAFKA) is not None:
        return known
    _stop(paths, [KAFKA])  # a broker whose endpoint was lost is of no use
    broker = tansu.start_broker(
        paths.root, paths.kafka_log, port, owner=owner, pid_file=paths.kafka_pid
    )
    started.append(KAFKA)
    return broker.bootstrap_servers


def _ensure_postgres(
    paths: StatePaths, known: str | None, port: int | None, started: list[str], owner: int | None
) -> str:
    """The running server's DSN, starting the server when it is not running."""
    if known is not None and _running(paths, POSTGRES) is not None:
        return known
    _stop(paths, [POSTGRES])
    server = postgres.start_postgres(
        paths.root,
        paths.postgres_dir,
        paths.postgres_log,
        port,
        owner=owner,
        pid_file=paths.postgres_pid,
    )
    started.append(POSTGRES)
    return server.dsn


def _stop(paths: StatePaths, components: list[str]) -> None:
    """Stop ``components`` and remove their pid files."""
    if KAFKA in components:
        tansu.stop_broker(processes.read_pid(paths.kafka_pid), paths.root)
        paths.kafka_pid.unlink(missing_ok=True)
    if POSTGRES in components:
        postgres.stop_postgres(processes.read_pid(paths.postgres_pid), paths.root)
        paths.postgres_pid.unlink(missing_ok=True)


def redact_dsn(dsn: str | None) -> str | None:
    """``dsn`` with its password masked, for printing."""
    if dsn is None or "@" not in dsn or ":" not in dsn.split("@", 1)[0].split("//", 1)[-1]:
        return dsn
    creds, rest = dsn.split("@", 1)
    scheme_user = creds.rsplit(":", 1)[0]
    return f"{scheme_user}:***@{rest}"


async def _ensure_topics(bootstrap_servers: str) -> None:
    """Create every registered topic on the fresh broker (idempotent)."""
    settings = SpendstreamSettings(
        kafka_bootstrap_servers=bootstrap_servers,
        # The embedded broker is plaintext, whatever the shell says about others.
        kafka_security_protocol=SecurityProtocol.PLAINTEXT,
    )
    try:
        await ensure_topics(settings)
    except KafkaError as exc:
        raise DevStackError(
            f"the broker at {bootstrap_servers} refused to create the topics: {exc!r}; "
            "see its log in the state dir"
        ) from exc
