"""Incident 11: a loop duplicated a table 85,000 times (3.47 million rows where 41 belonged). knackhouse
merges on the Knack id, so a rerun changes nothing, and the growth guard stops a table that multiplies."""

from __future__ import annotations


def test_a_multiplied_table_stops_the_publish_naming_table_and_growth(pipeline):
    before = pipeline.snapshot("marts")
    incident = pipeline.app.trigger("runaway_duplicates")
    outcome = pipeline.run()
    assert outcome.exit_code == 1
    tripped = [g for g in outcome.summary["guard_results"]
               if g["table"] == "raw_knack.establishments" and g["kind"] == "growth" and not g["passed"]]
    assert tripped and tripped[0]["observed"] == incident.records
    assert f"(+{incident.records:,})" in outcome.summary["message"]
    assert pipeline.snapshot("marts") == before


def test_rerunning_the_same_day_loads_nothing_twice(pipeline):
    pipeline.app.trigger("runaway_duplicates")
    pipeline.run()
    ids = pipeline.query("select id from raw_knack.establishments order by id")
    again = pipeline.run()
    assert pipeline.query("select id from raw_knack.establishments order by id") == ids
    loads = again.summary["records_per_object"]
    assert sum(o["inserted"] for o in loads.values()) == 0
