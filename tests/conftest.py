"""Shared fixtures: a real PostgreSQL for every test, and a private KNACKHOUSE_HOME.

`KNACKHOUSE_DATABASE_URL` names the server tests use (CI sets it to this machine's PostgreSQL 15);
without it the session starts an embedded PostgreSQL under a temporary home. Each test that asks
for `database_url` gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
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


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test harness (a temporary local API, ~10 s to start) shared by every test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=300):
        yield


def demo_app_at(scale: float, seed: int, days: int):
    """A demo app generated for (scale, seed) and advanced `days` ordinary days: the generator is deterministic,
    so two calls give the same records and ids (the incidents and guards suites copy a warehouse built from one)."""
    from simulator import DemoApp

    app = DemoApp(scale=scale, seed=seed)
    for _ in range(days):
        app.advance(1)
    return app
