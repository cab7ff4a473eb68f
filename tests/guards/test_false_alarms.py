"""The guards' false-alarm rate: 60 ordinary simulated days after a warm-up raise at most one alarm.

Each day runs the real ingest into raw, the real dbt models (staging, intermediate, marts_candidate; the dbt
tests are left to the other suites, to keep this one inside CI's budget) and the real metric collection and
bounds, so every check a run makes is counted: raw, staging and mart rows and growth, creations, orphan and
duplicate shares, and the reconciliations. The bounds decide each check as GX's
expect_column_values_to_be_between does in a run (lower <= observed <= upper); GX itself is exercised by the
other guard tests.
"""

from __future__ import annotations

from contextlib import closing

import pytest

from expectations.config import load_guard_config
from expectations.guards import GuardReport, plan_checks, results_of, store_results
from expectations.metrics import collect
from ingest.pipeline import run_ingest
from knackhouse import warehouse
from knackhouse.app_config import load_app_config
from knackhouse.dbt import DbtProject
from simulator import DemoApp, SimulatorServer

WARMUP_DAYS = 8
MEASURED_DAYS = 60


@pytest.mark.slow
def test_sixty_ordinary_days_raise_at_most_one_alarm(database_url, settings_for):
    app = DemoApp(scale=0.02, seed=3)
    config = load_guard_config()
    mapping = load_app_config(None)
    alarms: list[str] = []
    checked = 0
    with SimulatorServer(app) as sim:
        settings = settings_for(database_url, knack_app_id=sim.app_id, knack_api_key=sim.api_key,
                                knack_api_url=sim.base_url)
        for day in range(WARMUP_DAYS + MEASURED_DAYS):
            if day:
                app.advance(1)
            loaded = run_ingest(settings, database_url, progress=False, requests_per_second=None)
            if day == 0:
                project = DbtProject(settings, database_url, mapping=mapping)
                project.prepare()
            built = project.build(exclude=["resource_type:test", "resource_type:unit_test", "resource_type:snapshot"],
                                  vars={"as_of_date": app.today.isoformat(), "reopen_years": []})
            assert built.success, built.exception or [n.unique_id for n in built.failed_nodes]
            with closing(warehouse.connect(database_url)) as conn:
                metrics = collect(conn, run_id=f"day-{day}", as_of=app.today, mapping=mapping,
                                  database_url=database_url, ingest_result=loaded)
                planned = plan_checks(conn, metrics, app.today, config)
                success = {p.name: p.bounds.lower <= p.observed <= p.bounds.upper
                           for p in planned if p.bounds.known}
                report = GuardReport(results_of(planned, config, success))
                store_results(conn, f"day-{day}", app.today, report)
            if day >= WARMUP_DAYS:
                checked += len(success)
                alarms += [f"{app.today}: {r}" for r in report.results if not r.passed]
    assert checked >= MEASURED_DAYS * 10, "every day checks creations, growth, shares and reconciliations"
    mart_checks = {r.table for r in report.results if r.table.startswith("marts_candidate.")}
    assert {"marts_candidate.dim_students", "marts_candidate.fct_vespa_results"} <= mart_checks
    assert len(alarms) <= 1, "\n".join(alarms)
