"""The incidents suite's harness: the simulator's demo app and the real daily-sync flow over a real PostgreSQL.

Every test replays one incident of docs/incidents.md end to end. To keep the suite inside CI's budget,
the initial load and `HISTORY_DAYS` ordinary days are run once per session into a template database;
each test gets a copy of it (`create database … template …`, a file copy) and a DemoApp regenerated from the
same seed and advanced to the same day (the generator is deterministic), so its first run is an ordinary
incremental day on top of a warehouse with history, exactly as in production.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from knackhouse import warehouse
from knackhouse.settings import Settings
from simulator import DemoApp, Faults, SimulatorServer
from tests.conftest import demo_app_at

SCALE = 0.02  # 8 establishments, ~1,600 students, ~2,800 results: enough pages to count requests
SEED = 11
HISTORY_DAYS = 8  # ordinary days before a test's own days: more than the guards' 7-run minimum history
API_KEY_ENV = "KNACK_API_KEY"


def demo_app(days: int = HISTORY_DAYS) -> DemoApp:
    """The suite's demo app, regenerated and advanced `days` ordinary days (same seed: same records, same ids)."""
    return demo_app_at(SCALE, SEED, days)


@dataclass
class Pipeline:
    """One warehouse and one simulated Knack app, run through the real `daily-sync` flow."""

    app: DemoApp
    sim: SimulatorServer
    settings: Settings
    database_url: str
    outcomes: list[Any] = field(default_factory=list)

    def run(self, **options: Any) -> Any:
        """One run of the flow for the app's current day (as `knackhouse run` would do that day)."""
        from flows.daily_sync import RunOptions, run_flow

        options.setdefault("as_of", self.app.today)
        outcome = run_flow(self.settings, self.database_url, RunOptions(**options))
        self.outcomes.append(outcome)
        return outcome

    def day(self, days: int = 1, **options: Any) -> Any:
        """Advance the app by ordinary days, then run the flow once."""
        self.app.advance(days)
        return self.run(**options)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with closing(warehouse.connect(self.database_url)) as conn, conn.cursor() as cur:
            cur.execute(sql, params or None)  # no params: a literal % in the SQL stays a %
            return cur.fetchall() if cur.description else []

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def snapshot(self, schema: str) -> dict[str, list[str]]:
        """Every base table of a schema, rows rendered and sorted: for "nothing changed" assertions."""
        tables = [r[0] for r in self.query(
            "select table_name from information_schema.tables where table_schema = %s and table_type = 'BASE TABLE' "
            "order by 1", (schema,))]
        return {t: sorted(map(repr, self.query(f'select * from "{schema}"."{t}"'))) for t in tables}

    def report(self, outcome: Any | None = None) -> str:
        outcome = outcome or self.outcomes[-1]
        return Path(outcome.report_path).read_text()


def _terminate(server_url: str, database: str) -> None:
    with closing(warehouse.connect(server_url, autocommit=True)) as admin, admin.cursor() as cur:
        cur.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> "
                    "pg_backend_pid()", (database,))


@pytest.fixture(scope="session")
def incident_template(server_url: str, prefect_harness: None, tmp_path_factory: pytest.TempPathFactory,
                      ) -> Iterator[str]:
    """A database holding the initial load and HISTORY_DAYS ordinary days, built once per session."""
    name = f"kh_incidents_{uuid.uuid4().hex[:8]}"
    with closing(warehouse.connect(server_url, autocommit=True)) as admin, admin.cursor() as cur:
        cur.execute(f'create database "{name}"')
    try:
        url = warehouse.with_database(server_url, name)
        app = demo_app(0)
        with SimulatorServer(app) as sim:
            settings = Settings(home=tmp_path_factory.mktemp("incident-template") / "home", database_url=url,
                                knack_app_id=sim.app_id, knack_api_key=sim.api_key, knack_api_url=sim.base_url)
            pipeline = Pipeline(app, sim, settings, url)
            failures = []
            for day in range(HISTORY_DAYS + 1):
                outcome = pipeline.run() if day == 0 else pipeline.day()
                if outcome.exit_code != 0:
                    failures.append((app.today, outcome.summary.get("headline")))
            assert not failures, f"ordinary history days must pass: {failures}"
        _terminate(server_url, name)
        yield name
    finally:
        _terminate(server_url, name)
        with closing(warehouse.connect(server_url, autocommit=True)) as admin, admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')


class PipelineFactory:
    """Makes Pipelines on copies of the template warehouse, the app at the template's day; cleans them up."""

    def __init__(self, server_url: str, template: str, home: Path) -> None:
        self.server_url = server_url
        self.template = template
        self.home = home
        self.created: list[tuple[str, SimulatorServer]] = []

    def __call__(self, faults: Faults | None = None, *, mapping: Path | None = None) -> Pipeline:
        name = f"kh_incident_{uuid.uuid4().hex[:10]}"
        with closing(warehouse.connect(self.server_url, autocommit=True)) as admin, admin.cursor() as cur:
            cur.execute(f'create database "{name}" template "{self.template}"')
        app = demo_app()
        sim = SimulatorServer(app, faults=faults).start()
        self.created.append((name, sim))
        settings = Settings(home=self.home / f"home-{len(self.created)}", knack_app_id=sim.app_id,
                            knack_api_key=sim.api_key, knack_api_url=sim.base_url)
        if mapping is not None:
            settings = replace(settings, app_config=mapping)
        return Pipeline(app, sim, settings, warehouse.with_database(self.server_url, name))

    def cleanup(self) -> None:
        for name, sim in self.created:
            sim.stop()
            _terminate(self.server_url, name)
            with closing(warehouse.connect(self.server_url, autocommit=True)) as admin, admin.cursor() as cur:
                cur.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def pipeline_factory(server_url: str, incident_template: str, tmp_path: Path) -> Iterator[PipelineFactory]:
    """Pipelines for one test."""
    factory = PipelineFactory(server_url, incident_template, tmp_path)
    yield factory
    factory.cleanup()


@pytest.fixture(scope="module")
def module_pipeline_factory(server_url: str, incident_template: str,
                            tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineFactory]:
    """Pipelines shared by the tests of one module (a setup run once, then read by each test)."""
    factory = PipelineFactory(server_url, incident_template, tmp_path_factory.mktemp("incident-module"))
    yield factory
    factory.cleanup()


@pytest.fixture
def pipeline(pipeline_factory: PipelineFactory) -> Pipeline:
    """A warehouse with history and the app at the same day, ready for the test's own day."""
    return pipeline_factory()


@pytest.fixture(scope="session")
def ordinary_day(server_url: str, incident_template: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """One more ordinary day run on a copy of the template, shared READ-ONLY by the tests that only look."""
    factory = PipelineFactory(server_url, incident_template, tmp_path_factory.mktemp("ordinary-day"))
    pipeline = factory()
    outcome = pipeline.day()
    assert outcome.exit_code == 0, outcome.summary.get("headline")
    yield pipeline
    factory.cleanup()
