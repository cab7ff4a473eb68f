"""Fixtures for ingest tests: a simulator per test, a runner bound to the test's database, raw readers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.pipeline import IngestResult, run_ingest
from knackhouse.settings import Settings
from knackhouse.warehouse import connect
from simulator import DemoApp, FixtureApp, SimulatorServer

KNACKPY_FIXTURE = Path(__file__).parents[1] / "fixtures" / "knackpy"
DEMO_SCALE = 0.02  # 8 establishments, ~43 staff, ~1,560 students (2 pages), ~2,800 results (3 pages)


class Raw:
    """Reads raw_knack and audit of one test database."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def query(self, text: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        connection = connect(self.database_url)
        try:
            with connection.cursor() as cursor:
                cursor.execute(text, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def table_of(self, object_key: str) -> str:
        return self.query("select table_name from raw_knack._knack_objects where object_key = %s", (object_key,))[0][0]

    def rows(self, object_key: str) -> dict[str, dict[str, Any]]:
        """id → the row (record, timestamps) of an object's raw table."""
        table = self.table_of(object_key)
        columns = ("record", "_knack_created_at", "_knack_modified_at", "_first_seen_at", "_last_seen_at",
                   "_deleted_at")
        result = self.query(f'select id, {", ".join(columns)} from raw_knack."{table}"')
        return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in result}

    def live_ids(self, object_key: str) -> set[str]:
        return {i for i, row in self.rows(object_key).items() if row["_deleted_at"] is None}

    def retired_ids(self, object_key: str) -> set[str]:
        return {i for i, row in self.rows(object_key).items() if row["_deleted_at"] is not None}

    def tables(self) -> set[str]:
        return {r[0] for r in self.query(
            "select table_name from information_schema.tables where table_schema = 'raw_knack'")}

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every raw_knack table's rows (dlt's own bookkeeping tables included), for 'nothing changed' checks."""
        return {t: sorted(map(repr, self.query(f'select * from raw_knack."{t}"'))) for t in sorted(self.tables())}


@pytest.fixture
def raw(database_url: str) -> Raw:
    return Raw(database_url)


@pytest.fixture
def empty_mapping(tmp_path: Path) -> Path:
    """An app mapping that names nothing: every object loaded whole, none incrementally."""
    path = tmp_path / "empty_mapping.yml"
    path.write_text("")
    return path


@pytest.fixture
def demo_app() -> DemoApp:
    return DemoApp.generate(scale=DEMO_SCALE, seed=1)


@pytest.fixture
def knackpy_dir() -> Path:
    return KNACKPY_FIXTURE


@pytest.fixture
def knackpy_app() -> FixtureApp:
    return FixtureApp.load(KNACKPY_FIXTURE)


@pytest.fixture
def serve() -> Iterator[Callable[..., SimulatorServer]]:
    """Start a simulator for an app (stopped at the end of the test)."""
    servers: list[SimulatorServer] = []

    def start(app: Any, **kwargs: Any) -> SimulatorServer:
        server = SimulatorServer(app, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def settings_of(settings_for: Callable[..., Settings], database_url: str) -> Callable[..., Settings]:
    """Settings pointing at a simulator and the test database."""

    def build(sim: SimulatorServer, **overrides: Any) -> Settings:
        values: dict[str, Any] = {"knack_api_url": sim.base_url, "knack_app_id": sim.app_id,
                                  "knack_api_key": sim.api_key}
        values.update(overrides)
        return settings_for(database_url, **values)

    return build


@pytest.fixture
def ingest(settings_of: Callable[..., Settings], database_url: str) -> Callable[..., IngestResult]:
    """Run ingest against a simulator into the test database (quiet, no progress display)."""

    def run(sim: SimulatorServer, settings: dict[str, Any] | None = None, **kwargs: Any) -> IngestResult:
        kwargs.setdefault("progress", False)
        return run_ingest(settings_of(sim, **(settings or {})), database_url, **kwargs)

    return run
