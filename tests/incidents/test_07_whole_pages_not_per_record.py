"""Incident 7: a sync fetched and upserted one record at a time: 3,000+ requests, 6+ hours, then cancelled.
knackhouse reads whole 1,000-record pages, incrementally by "Date Modified", and counts every request."""

from __future__ import annotations

import math


def test_an_ordinary_day_costs_one_request_per_object_and_page_of_changes(pipeline):
    pipeline.sim.reset_counter()
    outcome = pipeline.day()
    assert outcome.exit_code == 0
    objects = outcome.summary["records_per_object"]
    lower_bound = 1 + sum(max(1, math.ceil(o["records_fetched"] / 1000)) for o in objects.values())
    sweep = sum(o["sweep_requests"] for o in objects.values())  # the deletion sweep's counts, reported apart
    assert pipeline.sim.request_count == outcome.summary["api_requests"]
    assert lower_bound + sweep <= pipeline.sim.request_count <= math.ceil(lower_bound * 1.05) + sweep
    pages = [math.ceil(len(t.rows) / 1000) for t in pipeline.app.tables.values()]
    quiet = sum(p + (p > 1) if p <= 4 else 2 for p in pages)  # two counts, or a whole read of a small object
    assert sweep <= quiet, "a quiet day's sweep is two counts per object, or one read of a small one"


def test_a_full_refresh_reads_whole_pages_never_one_call_per_record(pipeline):
    pipeline.sim.reset_counter()
    outcome = pipeline.run(full_refresh=True)
    assert outcome.exit_code == 0
    objects = outcome.summary["records_per_object"]
    records = sum(o["records_fetched"] for o in objects.values())
    pages = 1 + sum(max(1, math.ceil(o["total_records"] / 1000)) for o in objects.values())
    assert records > 4000
    assert pipeline.sim.request_count <= math.ceil(pages * 1.05)
    assert pipeline.sim.request_count < records / 100


def test_requests_per_object_are_in_the_report_and_audit(ordinary_day):
    pipeline = ordinary_day
    outcome = pipeline.outcomes[-1]
    report = pipeline.report(outcome)
    for key, figures in outcome.summary["records_per_object"].items():
        assert f"| {key} | {figures['table_name']} | {figures['requests']} |" in report
    stored = pipeline.scalar("select api_requests from audit.runs where run_id = %s", (outcome.summary["run_id"],))
    assert stored == outcome.summary["api_requests"]
