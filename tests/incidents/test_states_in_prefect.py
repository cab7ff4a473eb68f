"""A tripped guard or a failing dbt test is a Failed flow run in Prefect, its message the run's one-line reason
(incident 9 one level up: Prefect's UI, automations and `prefect flow-run ls` must not say all is well)."""

from __future__ import annotations

from contextlib import closing

from flows.daily_sync import one_line
from knackhouse import warehouse
from tests.conftest import read_flow_run

FROZEN_TEST = "test.knackhouse.assert_frozen_partitions_unchanged"


def test_a_tripped_guard_is_a_failed_flow_run_with_the_guards_reason(pipeline):
    pipeline.app.trigger("mass_orphan_creation", hours=48)
    outcome = pipeline.day()
    assert outcome.exit_code == 1
    run = read_flow_run(outcome.summary["flow_run_id"])
    assert run.state.type.value == "FAILED"
    assert run.state.message.startswith("daily-sync failed in task guards: ")
    assert "raw_knack.students" in run.state.message and "\n" not in run.state.message


def test_an_ordinary_day_is_a_completed_flow_run(ordinary_day):
    run = read_flow_run(ordinary_day.outcomes[-1].summary["flow_run_id"])
    assert run.state.type.value == "COMPLETED"


def test_a_failing_dbt_test_is_a_failed_flow_run_with_the_runs_reason(pipeline):
    # a frozen year's partition edited behind knackhouse's back: the build leaves it alone, its data test fails
    year = pipeline.scalar("select min(academic_year) from audit.frozen_partitions "
                           "where table_name = 'fct_vespa_results'")
    partition = f"marts_candidate.fct_vespa_results__{year.replace('/', '_')}"
    with closing(warehouse.connect(pipeline.database_url, autocommit=True)) as conn, conn.cursor() as cur:
        cur.execute(f"update {partition} set overall = coalesce(overall, 0) + 1 "
                    f"where result_key = (select min(result_key) from {partition})")
        assert cur.rowcount == 1
    outcome = pipeline.day()
    assert outcome.exit_code == 1
    assert {n["name"]: n["status"] for n in outcome.summary["dbt_nodes"]}[FROZEN_TEST] == "fail"
    run = read_flow_run(outcome.summary["flow_run_id"])
    assert run.state.type.value == "FAILED"
    assert run.state.message == one_line(outcome.summary["headline"])
    assert f"dbt tests failed: {FROZEN_TEST}" in run.state.message
