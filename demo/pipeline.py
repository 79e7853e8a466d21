"""Bring up the embedded stack and the five services, feed them a simulated org.

Used by ``spendstream demo`` and by the end-to-end tests, so both exercise the
same path a user meets.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from devstack import stack
from devstack.interrupts import no_interrupts, sigterm_as_interrupt
from devstack.ports import free_port
from devstack.state import read_env
from devstack.supervisor import Supervisor

SERVICES = ("anomaly", "rightsizing", "forecast", "gateway")
# The gateway answers /readyz once migrations ran and the pool is open; a
# cold start on a loaded 2-core machine takes a few seconds.
GATEWAY_READY_TIMEOUT_S = 90.0
# One CLI step (simulate, ingest) on demo-sized data takes seconds to a minute.
STEP_TIMEOUT_S = 900.0
DEMO_TENANT = "demo"
_TOKEN = re.compile(r"^(ssk_\S+)$", re.MULTILINE)


class DemoError(RuntimeError):
    """A demo step failed; the message says which and shows its output."""


@dataclass(frozen=True)
class Scenario:
    """What to simulate: small enough to run in minutes, rich enough to show everything."""

    seed: int = 7
    days: int = 90
    accounts: int = 3
    instances: int = 60
    cloudwatch_days: int = 14
    format: str = "cur2"
    # A spike over the last N days, so an incident is still open at the end (0: none).
    open_spike_days: int = 0


@dataclass
class Pipeline:
    """A running system: where things are and how to reach the gateway."""

    state_dir: Path
    env: dict[str, str]
    supervisor: Supervisor
    gateway_url: str
    data_dir: Path
    api_key: str = ""
    ground_truth: dict[str, object] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def cli(self, *args: str, timeout: float = STEP_TIMEOUT_S) -> str:
        """Run ``spendstream <args>`` against this system; return its stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise DemoError(
                f"`spendstream {' '.join(args)}` failed ({done.returncode}):\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
            )
        return done.stdout

    def check_alive(self) -> None:
        """Fail loudly, with its log, if a service died."""
        for child in self.supervisor.dead():
            raise DemoError(f"service {child.name} exited; last log lines:\n{child.tail()}")


@contextmanager
def running_system(
    state_dir: Path,
    log: Callable[[str], None] = print,
    extra_env: Mapping[str, str] | None = None,
    replicas: Mapping[str, int] | None = None,
) -> Iterator[Pipeline]:
    """Start the stack and every consuming service; stop all of it on exit.

    ``replicas`` runs several processes of a service in one consumer group
    (named ``<service>-1``, ``<service>-2`` ...); extra gateways get their own
    HTTP port, and ``gateway_url`` points at the first.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    log(f"starting the embedded stack (Kafka-compatible broker + PostgreSQL) in {state_dir}")
    port = free_port()
    supervisor = Supervisor(state_dir / "logs")
    try:
        # Owned by this process: if it is killed outright, the next run stops
        # what is left (devstack.leftovers); any other end stops it below.
        with sigterm_as_interrupt():
            up = stack.up(state_dir, owner=os.getpid())
        env = {
            **os.environ,
            **read_env(up.env_file),
            "SPENDSTREAM_STATE_DIR": str(state_dir),
            "SPENDSTREAM_LOG_JSON": "true",
            "SPENDSTREAM_GATEWAY_HTTP_HOST": "127.0.0.1",
            "SPENDSTREAM_GATEWAY_HTTP_PORT": str(port),
            # The demo prints the /docs link: its gateway serves the API docs openly.
            "SPENDSTREAM_GATEWAY_DOCS_PUBLIC": "true",
            **(extra_env or {}),
        }
        supervisor.env = env
        pipeline = Pipeline(
            state_dir=state_dir,
            env=env,
            supervisor=supervisor,
            gateway_url=f"http://127.0.0.1:{port}",
            data_dir=state_dir / "data",
        )
        log(f"broker {up.kafka_bootstrap_servers}; starting services: {', '.join(SERVICES)}")
        for name in SERVICES:
            count = (replicas or {}).get(name, 1)
            for index in range(1, count + 1):
                child_env = {"SPENDSTREAM_SERVICE_NAME": name}
                if name == "gateway" and index > 1:
                    child_env["SPENDSTREAM_GATEWAY_HTTP_PORT"] = str(free_port())
                label = name if count == 1 else f"{name}-{index}"
                supervisor.start_module(label, f"services.{name}", env=child_env)
        yield pipeline
    finally:
        log("stopping services and the embedded stack")
        # Ctrl-C reaches us more than once (the terminal and `uv run` both
        # forward it); a second one must not cut the clean-up short.
        with no_interrupts():
            supervisor.stop_all()
            stack.down(state_dir)


def simulate(pipeline: Pipeline, scenario: Scenario, log: Callable[[str], None] = print) -> None:
    """Write the simulated org's CUR files, CloudWatch datapoints and ground truth."""
    data = pipeline.data_dir
    log(
        f"simulating {scenario.accounts} accounts, {scenario.instances} instances, "
        f"{scenario.days} days (seed {scenario.seed})"
    )
    started = time.monotonic()
    pipeline.cli(
        "simulate",
        "--out",
        str(data / "cur"),
        "--seed",
        str(scenario.seed),
        "--days",
        str(scenario.days),
        "--accounts",
        str(scenario.accounts),
        "--instances",
        str(scenario.instances),
        "--format",
        scenario.format,
        "--cloudwatch-out",
        str(data / "cloudwatch.parquet"),
        "--cloudwatch-days",
        str(scenario.cloudwatch_days),
        "--open-spike-days",
        str(scenario.open_spike_days),
    )
    pipeline.timings["simulate_s"] = time.monotonic() - started
    truth = data / "cur" / "ground_truth.json"
    pipeline.ground_truth = json.loads(truth.read_text()) if truth.exists() else {}


def accounts(pipeline: Pipeline) -> list[str]:
    """The simulated member accounts (from the ground truth)."""
    listed = pipeline.ground_truth.get("accounts", [])
    assert isinstance(listed, list)
    return [str(a["account_id"]) for a in listed]


def create_api_key(pipeline: Pipeline, extra_accounts: Sequence[str] = ()) -> str:
    """A tenant owning the simulated accounts (and ``extra_accounts``), and a key for it."""
    owned = [*accounts(pipeline), *extra_accounts]
    pipeline.cli("admin", "tenant", "create", DEMO_TENANT, "--accounts", ",".join(owned))
    out = pipeline.cli("admin", "key", "create", "--tenant", DEMO_TENANT, "--scope", "write")
    match = _TOKEN.search(out)
    if match is None:
        raise DemoError(f"no key in `admin key create` output:\n{out}")
    pipeline.api_key = match.group(1)
    return pipeline.api_key


def ingest_argv(pipeline: Pipeline) -> list[list[str]]:
    """The ingest commands: CUR deliveries, then the fleet's inventory and datapoints."""
    data = pipeline.data_dir
    return [
        ["ingest", "cur", "--source", str(data / "cur"), "--force"],
        ["ingest", "file-inventory", str(data / "cur" / "inventory.jsonl")],
        ["ingest", "file-datapoints", str(data / "cloudwatch.parquet")],
    ]


def ingest(pipeline: Pipeline, log: Callable[[str], None] = print) -> None:
    """Stream the CUR deliveries and the CloudWatch datapoints onto Kafka."""
    cur, inventory, datapoints = ingest_argv(pipeline)
    started = time.monotonic()
    pipeline.timings["ingest_started_at"] = time.time()
    log("ingesting CUR deliveries")
    pipeline.cli(*cur)
    pipeline.timings["ingest_cur_s"] = time.monotonic() - started
    log("publishing the EC2 inventory and replaying CloudWatch datapoints")
    pipeline.cli(*inventory)
    pipeline.cli(*datapoints)
    pipeline.timings["ingest_datapoints_s"] = time.monotonic() - started


def fleet_ids(pipeline: Pipeline) -> frozenset[str]:
    """The instance ids of the inventory the demo ingests: the fleet right-sizing covers."""
    inventory = pipeline.data_dir / "cur" / "inventory.jsonl"
    with inventory.open() as lines:
        return frozenset(json.loads(line)["instance_id"] for line in lines if line.strip())
