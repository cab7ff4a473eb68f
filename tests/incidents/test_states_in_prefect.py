"""A tripped guard is a Failed flow run in Prefect, its message the guard's one-line reason (incident 9 one
level up: Prefect's UI, automations and `prefect flow-run ls` must not say all is well)."""

from __future__ import annotations

from tests.conftest import read_flow_run


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
