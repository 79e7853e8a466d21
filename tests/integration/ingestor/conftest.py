"""Ingestor integration fixtures: a moto server (never patched boto3), settings, a topic reader."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.ingestor.settings import IngestorSettings
from tests.harness.wait import wait_for

# moto's server imports a lot; 60 s absorbs a loaded CI machine.
MOTO_START_TIMEOUT_S = 60.0
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a moto server process for the session."""
    port = _free_port()
    env = {**os.environ, **AWS_ENV}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(url), timeout=MOTO_START_TIMEOUT_S, description="moto server")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def moto(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The moto endpoint, reset to an empty AWS, with fake credentials in the environment."""
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
    return moto_server


@pytest.fixture
def make_settings(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> Callable[..., IngestorSettings]:
    """Settings on the session broker with this test's topic prefix and state dir."""

    def make(**overrides: object) -> IngestorSettings:
        values: dict[str, object] = {
            "kafka_bootstrap_servers": kafka_bootstrap,
            "topic_prefix": topic_prefix,
            "ingestor_state_dir": tmp_path / "state",
            "log_json": False,
            "kafka_enable_idempotence": False,
        }
        values.update(overrides)
        return IngestorSettings(**values)  # type: ignore[arg-type]

    return make
