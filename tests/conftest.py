"""Shared fixtures: a real PostgreSQL for every test, and a private KNACKHOUSE_HOME.

`KNACKHOUSE_DATABASE_URL` names the server tests use (CI sets it to this machine's PostgreSQL 15);
without it the session starts an embedded PostgreSQL under a temporary home. Each test that asks
for `database_url` gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SESSION_HOME = Path(os.environ.get("KNACKHOUSE_TEST_HOME", "/tmp")) / f"knackhouse-tests-{os.getpid()}"
os.environ["KNACKHOUSE_HOME"] = str(SESSION_HOME)

from knackhouse import warehouse  # noqa: E402 - KNACKHOUSE_HOME must be set first
from knackhouse.settings import Settings, configure_environment  # noqa: E402

configure_environment(Settings.from_env())


@pytest.fixture(scope="session", autouse=True)
def _session_home() -> Iterator[Path]:
    """The session's KNACKHOUSE_HOME, removed when the session ends."""
    SESSION_HOME.mkdir(parents=True, exist_ok=True)
    yield SESSION_HOME
    shutil.rmtree(SESSION_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A URL of a PostgreSQL server's maintenance database (configured, or embedded for the session)."""
    settings = Settings.from_env()
    if settings.database_url:
        yield warehouse.resolve_url(settings)
        return
    url = warehouse.start_embedded(settings)
    yield url
    warehouse.stop_embedded(settings)


@pytest.fixture
def database_url(server_url: str) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped when the test ends."""
    name = f"kh_test_{uuid.uuid4().hex[:12]}"
    admin = warehouse.connect(server_url, autocommit=True)
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    try:
        yield warehouse.with_database(server_url, name)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


@pytest.fixture
def settings_for(tmp_path: Path):
    """Build Settings for a test: a private home under tmp_path and the given database URL."""

    def build(database_url: str | None = None, **overrides: object) -> Settings:
        values: dict[str, object] = {"home": tmp_path / "home", "database_url": database_url}
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return build


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process_group(process: subprocess.Popen, timeout: float = 60) -> None:
    """End a process started with `start_new_session=True` and everything it started: TERM, then KILL."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def wait_until(check, timeout: float, what: str, interval: float = 0.25):
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `prefect server start` on a free loopback port for the whole session; yields its API URL.

    In-process flows use it through Prefect's settings, subprocesses (the CLI, workers) through
    PREFECT_API_URL in the environment. The server and its home are removed at the end of the session.
    """
    import httpx
    from prefect.settings import PREFECT_API_URL, temporary_settings

    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_LOGGING_LEVEL": "WARNING"}
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    api_url = f"http://127.0.0.1:{port}/api"

    def healthy() -> bool:
        if server.poll() is not None:
            raise AssertionError(f"prefect server exited with {server.returncode}: "
                                 f"{(home / 'server.log').read_text()[-2000:]}")
        try:
            return httpx.get(f"{api_url}/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    previous = os.environ.get("PREFECT_API_URL")
    try:
        wait_until(healthy, 240, "the Prefect server to answer /api/health")
        os.environ["PREFECT_API_URL"] = api_url
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            yield api_url
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous
        stop_process_group(server, timeout=30)
        log.close()


def read_flow_run(flow_run_id: str):
    """A flow run as the Prefect API holds it (its state type and message are what the operator sees)."""
    from uuid import UUID

    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(str(flow_run_id)))


def demo_app_at(scale: float, seed: int, days: int):
    """A demo app generated for (scale, seed) and advanced `days` ordinary days: the generator is deterministic,
    so two calls give the same records and ids (the incidents and guards suites copy a warehouse built from one)."""
    from simulator import DemoApp

    app = DemoApp(scale=scale, seed=seed)
    for _ in range(days):
        app.advance(1)
    return app
