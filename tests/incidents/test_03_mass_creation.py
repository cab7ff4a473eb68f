"""Incident 3: thousands of bare students were created in 48 hours and nobody noticed for weeks. knackhouse
compares each table's daily creations and growth with its own history; the anomaly stops the publish on
the day it happens and the report says which table, how many and how far off."""

from __future__ import annotations

import re


def test_mass_creation_stops_the_publish_on_the_day_it_happens(pipeline):
    before = pipeline.snapshot("marts")
    incident = pipeline.app.trigger("mass_orphan_creation", hours=48)
    outcome = pipeline.day()
    assert outcome.exit_code == 1
    assert outcome.summary["failed_task"] == "guards"
    created = [g for g in outcome.summary["guard_results"]
               if g["table"] == "raw_knack.students" and g["kind"] == "created" and not g["passed"]]
    assert created, outcome.summary["message"]
    assert created[0]["observed"] >= incident.records // 2 - 1 > created[0]["upper"]
    assert re.search(r"raw_knack\.students: [\d,]+ records created on", outcome.summary["message"])
    assert pipeline.snapshot("marts") == before


def test_the_report_names_table_count_and_bounds(pipeline):
    pipeline.app.trigger("mass_orphan_creation", hours=48)
    outcome = pipeline.day()
    report = pipeline.report(outcome)
    assert "FAILED" in report
    assert re.search(r"raw_knack\.students: [\d,]+ records created on .*expected \d+–\d+", report)
