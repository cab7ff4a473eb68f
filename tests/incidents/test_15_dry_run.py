"""Incident 15: there was no dry run and no audit, so fixes ran straight on production. `knackhouse run
--dry-run` reports per object what would be inserted, updated and retired, and writes nothing."""

from __future__ import annotations

SCHEMAS = ("raw_knack", "marts", "quarantine", "audit")


def _state(pipeline):
    state = {s: pipeline.snapshot(s) for s in SCHEMAS}
    state["audit"].pop("object_loads")  # a dry run's own requests are audited there, marked dry_run
    return state


def test_a_dry_run_writes_nothing(pipeline):
    pipeline.app.advance(1)
    before = _state(pipeline)
    outcome = pipeline.run(dry_run=True)
    assert outcome.exit_code == 0
    assert _state(pipeline) == before


def test_a_dry_runs_requests_are_audited_as_a_dry_run(pipeline):
    pipeline.app.advance(1)
    loads = pipeline.scalar("select count(*) from audit.object_loads")
    pipeline.run(dry_run=True)
    assert pipeline.query("select dry_run, count(*) from audit.object_loads group by 1 order by 1")[-1][0] is True
    assert pipeline.scalar("select count(*) from audit.object_loads where not dry_run") == loads


def test_a_dry_run_reports_what_the_real_run_then_does(pipeline):
    pipeline.app.advance(1)
    dry = pipeline.run(dry_run=True).summary["records_per_object"]
    real = pipeline.run().summary["records_per_object"]
    assert sum(o["inserted"] + o["updated"] for o in dry.values()) > 0
    for key in real:
        for figure in ("inserted", "updated", "retired"):
            assert dry[key][figure] == real[key][figure], (key, figure)


def test_the_dry_run_report_says_nothing_was_written(pipeline):
    pipeline.app.advance(1)
    outcome = pipeline.run(dry_run=True)
    assert "dry run: nothing was written" in pipeline.report(outcome)
