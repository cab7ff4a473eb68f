"""Analysts see the quarantine without personal data: marts.quarantine_summary counts the held-back records by
entity, reason and academic year, and holds no Knack id, name or email."""

from __future__ import annotations

import uuid
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import pytest

from flows.daily_sync import RunOptions, run_flow
from knackhouse import warehouse
from knackhouse.settings import Settings
from simulator import DemoApp, SimulatorServer

ANALYST = "knackhouse_analyst"


@dataclass
class Published:
    outcome: Any
    url: str

    def query(self, sql: str, role: str | None = None) -> list[tuple[Any, ...]]:
        with closing(warehouse.connect(self.url)) as conn, conn.cursor() as cur:
            if role:
                cur.execute(f"set role {role}")
            cur.execute(sql)
            return cur.fetchall()


@pytest.fixture(scope="module")
def published(prefect_harness, server_url, tmp_path_factory) -> Any:
    """One day of a small demo app (orphaned students, a cancelled school: a quarantine), run and published."""
    name = f"kh_quarantine_{uuid.uuid4().hex[:10]}"
    url = warehouse.create_database(server_url, name)
    try:
        app = DemoApp(scale=0.005, seed=8)
        with SimulatorServer(app) as sim:
            settings = Settings(home=tmp_path_factory.mktemp("quarantine") / "home", knack_app_id=sim.app_id,
                                knack_api_key=sim.api_key, knack_api_url=sim.base_url)
            outcome = run_flow(settings, url, RunOptions(as_of=app.today))
        yield Published(outcome, url)
    finally:
        warehouse.drop_database(server_url, name)


def test_the_run_publishes_with_the_summarys_dbt_tests_passing(published):
    assert published.outcome.exit_code == 0, published.outcome.summary.get("headline")


def test_it_counts_the_quarantine_by_entity_reason_and_year(published):
    summary = published.query("select entity, reason, academic_year, records from marts.quarantine_summary")
    grouped = published.query("select entity, reason, academic_year, count(*) from quarantine.rejected_records "
                              "group by 1, 2, 3")
    assert summary and sorted(summary, key=repr) == sorted(grouped, key=repr)
    assert {entity for entity, *_ in summary} >= {"students", "vespa_results"}
    assert any(year for _, _, year, _ in summary), "records are counted in their academic year"


def test_it_holds_counts_and_no_personal_data(published):
    columns = published.query("select column_name from information_schema.columns where table_schema = 'marts' "
                              "and table_name = 'quarantine_summary' order by ordinal_position")
    assert [c for (c,) in columns] == ["entity", "reason", "academic_year", "records"]
    personal = {value for row in published.query("select knack_id, detail from quarantine.rejected_records")
                for value in row if value}
    shown = {str(value) for row in published.query("select * from marts.quarantine_summary") for value in row}
    assert personal and not shown & personal


def test_the_analyst_role_reads_it(published):
    rows = published.query("select sum(records) from marts.quarantine_summary", role=ANALYST)
    assert rows[0][0] == published.query("select count(*) from quarantine.rejected_records")[0][0] > 0
