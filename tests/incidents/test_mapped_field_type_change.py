"""A mapped field whose type changes in Knack stops the publish until a full refresh acknowledges it.

A builder turns the results' Cycle field from a number into a multiple choice. Knack converts the stored values
but moves no record's modified time, so an incremental load reads none of them: before, the run exited 0 and
published marts typed partly the old way, partly the new, and only a log line said so. Now the guards compare
each mapped field's type with the one the marts were last built from: an error, named in the report and the
alert, until `--full-refresh` rebuilds every record with the new type (what acknowledges a change is tested
on the check itself, tests/guards/test_mapped_field_types.py: a full refresh here costs a minute).
"""

from __future__ import annotations

import pytest

from simulator.demo_schema import R_CYCLE, RESULTS
from tests.receiver import receiving

ROLE = "entities.vespa_results.fields.cycle"


@pytest.fixture
def alerts(monkeypatch):
    """A local webhook keeping every alert it receives."""
    with receiving() as receiver:
        monkeypatch.setenv("KNACKHOUSE_ALERT_WEBHOOK", receiver.url())
        yield receiver.bodies


def test_a_mapped_field_changing_type_blocks_the_publish_and_says_which(pipeline, alerts):
    app = pipeline.app
    cycle = app.tables[RESULTS].fields[R_CYCLE]
    marts_before = pipeline.snapshot("marts")
    app.change_field_type(RESULTS, cycle.key, "multiple_choice", convert=str,
                          field_format={"type": "single", "options": ["1", "2", "3"]})

    blocked = pipeline.day()
    assert blocked.exit_code == 1, blocked.summary.get("headline")
    assert blocked.summary["failed_task"] == "guards"
    (failed,) = [g for g in blocked.summary["guard_results"] if not g["passed"]]
    assert failed["kind"] == "field_type" and failed["severity"] == "error"
    named = f"{ROLE}: field {cycle.key} (Cycle) of {RESULTS} is now multiple_choice, the marts were built from it " \
            "as number"
    assert named in failed["detail"] and "--full-refresh" in failed["detail"]
    assert named in pipeline.report(blocked)
    assert len(alerts) == 1 and named in alerts[0]["text"]
    assert pipeline.snapshot("marts") == marts_before, "nothing was published"

