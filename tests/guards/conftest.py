"""A warehouse with history for guard tests: ordinary days through the real ingest, dbt build and guards.

The module fixture runs HISTORY_DAYS + 1 ordinary days once into a template database; each incident test
copies it and regenerates the demo app at the same day (the generator is deterministic), triggers its
incident and runs one more day.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from expectations.guards import GuardReport, run_guards
from ingest.pipeline import run_ingest
from knackhouse import warehouse
from knackhouse.app_config import load_app_config
from knackhouse.dbt import DbtProject
from knackhouse.settings import Settings
from simulator import DemoApp, SimulatorServer
from tests.conftest import demo_app_at

SCALE = 0.05  # 8 establishments, ~3,900 students, ~7,000 results: ~18 results on a term weekday
SEED = 5
HISTORY_DAYS = 9  # 2025-10-01 .. 2025-10-10: more than the 7 runs bounds need, weekdays and weekends


def demo_app(days: int) -> DemoApp:
    return demo_app_at(SCALE, SEED, days)


@dataclass
class GuardedWarehouse:
    """One database and one simulated app; `day()` runs ingest, dbt build and the guards like the flow."""

    app: DemoApp
    sim: SimulatorServer
    settings: Settings
    database_url: str
    reports: list[GuardReport] = field(default_factory=list)

    def run(self, run_id: str | None = None, *, reconcile: bool = False) -> GuardReport:
        loaded = run_ingest(self.settings, self.database_url, progress=False, requests_per_second=None,
                            reconcile=reconcile)
        project = DbtProject(self.settings, self.database_url, mapping=load_app_config(None))
        project.prepare()
        built = project.build(vars={"as_of_date": self.app.today.isoformat(), "reopen_years": []})
        assert built.success or all(n.unique_id.startswith("test.") for n in built.failed_nodes), built.exception
        report = run_guards(self.settings, self.database_url, run_id=run_id or f"run-{self.app.today}",
                            as_of=self.app.today, ingest_result=loaded)
        self.reports.append(report)
        return report

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with closing(warehouse.connect(self.database_url)) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()


def _drop(server_url: str, name: str) -> None:
    with closing(warehouse.connect(server_url, autocommit=True)) as admin, admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def guarded_template(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list]]:
    """The template database after HISTORY_DAYS + 1 ordinary days, and those days' guard reports."""
    name = f"kh_guards_{uuid.uuid4().hex[:8]}"
    with closing(warehouse.connect(server_url, autocommit=True)) as admin, admin.cursor() as cur:
        cur.execute(f'create database "{name}"')
    try:
        app = demo_app(0)
        with SimulatorServer(app) as sim:
            settings = Settings(home=tmp_path_factory.mktemp("guards") / "home", knack_app_id=sim.app_id,
                                knack_api_key=sim.api_key, knack_api_url=sim.base_url)
            wh = GuardedWarehouse(app, sim, settings, warehouse.with_database(server_url, name))
            for day in range(HISTORY_DAYS + 1):
                if day:
                    app.advance(1)
                wh.run()
        with closing(warehouse.connect(server_url, autocommit=True)) as admin, admin.cursor() as cur:
            cur.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", (name,))
        yield name, wh.reports
    finally:
        _drop(server_url, name)


@pytest.fixture
def guarded(server_url: str, guarded_template: tuple[str, list], tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """Make a GuardedWarehouse on a copy of the template, the app at the template's day."""
    made: list[tuple[str, SimulatorServer]] = []

    def make() -> GuardedWarehouse:
        name = f"kh_guarded_{uuid.uuid4().hex[:10]}"
        with closing(warehouse.connect(server_url, autocommit=True)) as admin, admin.cursor() as cur:
            cur.execute(f'create database "{name}" template "{guarded_template[0]}"')
        app = demo_app(HISTORY_DAYS)
        sim = SimulatorServer(app).start()
        made.append((name, sim))
        settings = Settings(home=tmp_path / f"home-{len(made)}", knack_app_id=sim.app_id, knack_api_key=sim.api_key,
                            knack_api_url=sim.base_url)
        return GuardedWarehouse(app, sim, settings, warehouse.with_database(server_url, name))

    yield make
    for name, sim in made:
        sim.stop()
        _drop(server_url, name)
