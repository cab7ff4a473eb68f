"""Scripted incidents from docs/incidents.md, seen through the API and in the ground truth."""

from __future__ import annotations

from datetime import timedelta

import pytest
from knack_client import Client

from simulator.demo import DemoApp


def changed_since(client: Client, object_key: str, field: str, shown: str) -> list[dict]:
    return client.scan(object_key, filters=[{"field": field, "operator": "is after", "value": shown}])


def test_runaway_duplicates_multiplies_a_table_with_identical_records(fresh: tuple[DemoApp, Client]) -> None:
    app, client = fresh
    before = client.scan("object_1")
    report = app.trigger("runaway_duplicates")
    after = client.scan("object_1")
    assert report.object_key == "object_1" and report.records == 20 * len(before)
    assert len(after) == 21 * len(before)
    names = {r["field_1"] for r in before}
    assert {r["field_1"] for r in after} == names


def test_mass_orphan_creation_spreads_bare_students_over_48_hours(fresh: tuple[DemoApp, Client]) -> None:
    app, client = fresh
    before = client.page("object_3")["total_records"]
    report = app.trigger("mass_orphan_creation", count=600)
    assert client.page("object_3")["total_records"] == before
    app.advance(1)
    first_day = client.page("object_3")["total_records"] - before
    app.advance(1)
    second_day = client.page("object_3")["total_records"] - before - first_day
    assert first_day - 1 >= 250 and second_day >= 250 and first_day + second_day >= 600
    bare = [r for r in client.scan("object_3") if not r["field_14_raw"] and r["field_17"] == ""]
    assert len(bare) == report.records == 600
    truth = app.truth()
    assert all(truth.orphans[r["id"]] == "no_establishment" for r in bare)


def test_an_instant_mass_creation_is_visible_to_the_next_read(fresh: tuple[DemoApp, Client]) -> None:
    app, client = fresh
    before = client.page("object_3")["total_records"]
    app.trigger("mass_orphan_creation", count=300, hours=0)
    assert client.page("object_3")["total_records"] == before + 300


def test_reimport_school_gives_every_current_student_a_new_id_and_keeps_the_truth(
        fresh: tuple[DemoApp, Client]) -> None:
    app, client = fresh
    truth_before = app.truth()
    minute_before = (app.now - timedelta(minutes=1)).strftime("%d/%m/%Y %H:%M")
    report = app.trigger("reimport_school")
    truth_after = app.truth()
    old, new = set(report.detail["old_ids"]), set(report.detail["new_ids"])
    assert old and len(new) == len(old) and not old & new
    assert old <= truth_after.deleted_ids["object_3"]
    assert truth_after.student_years == truth_before.student_years
    assert new <= {r["id"] for r in changed_since(client, "object_3", "field_19", minute_before)}


def test_full_reimport_changes_every_id_but_not_one_student_year(fresh: tuple[DemoApp, Client]) -> None:
    app, client = fresh
    before_ids = {r["id"] for r in client.scan("object_3")}
    truth_before = app.truth()
    app.trigger("full_reimport")
    after_ids = {r["id"] for r in client.scan("object_3")}
    assert len(after_ids) == len(before_ids) and not before_ids & after_ids
    assert app.truth().student_years == truth_before.student_years


def test_establishments_vanish_leaves_only_what_the_bad_filter_kept(fresh: tuple[DemoApp, Client]) -> None:
    app, client = fresh
    before = client.scan("object_1")
    report = app.trigger("establishments_vanish")
    after = client.scan("object_1")
    kept = [r for r in before if r["field_2"] != "Cancelled" and "COACHING PORTAL" in r["field_3"]]
    assert {r["id"] for r in after} == {r["id"] for r in kept}
    assert (report.detail["before"], report.detail["after"]) == (len(before), len(after))
    orphaned = app.truth().orphans
    assert "unknown_establishment" in orphaned.values()


def test_orphan_spike_raises_the_orphan_share(fresh: tuple[DemoApp, Client]) -> None:
    app, _ = fresh
    share_before = app.truth().orphan_share()
    app.trigger("orphan_spike", share=0.5)
    assert app.truth().orphan_share() > share_before + 0.1


def test_zero_results_day_holds_back_a_days_results_in_term_time(fresh: tuple[DemoApp, Client]) -> None:
    app, client = fresh
    app.advance(1)
    start = client.page("object_4")["total_records"]
    app.trigger("zero_results_day")
    app.advance(1)
    assert client.page("object_4")["total_records"] == start
    app.advance(2)
    assert client.page("object_4")["total_records"] > start


def test_an_ordinary_term_day_has_new_results(fresh: tuple[DemoApp, Client]) -> None:
    app, client = fresh
    app.advance(1)  # Wednesday 1 October 2025
    start = client.page("object_4")["total_records"]
    app.advance(1)
    assert client.page("object_4")["total_records"] > start


def test_incidents_are_recorded_in_the_truth(fresh: tuple[DemoApp, Client]) -> None:
    app, _ = fresh
    app.trigger("runaway_duplicates", object_key="object_2", copies=5)
    assert [(r.name, r.object_key, r.records) for r in app.truth().incidents] == [
        ("runaway_duplicates", "object_2", 5)]


def test_an_unknown_incident_is_a_clear_error(fresh: tuple[DemoApp, Client]) -> None:
    app, _ = fresh
    with pytest.raises(ValueError, match="unknown incident 'meteor'"):
        app.trigger("meteor")


def test_the_first_listed_incident_is_visible_right_after_it_is_triggered(fresh: tuple[DemoApp, Client]) -> None:
    app, client = fresh
    report = app.trigger(app.incidents[0])
    assert client.page(report.object_key)["total_records"] == len(app.tables[report.object_key].rows)
    assert report.records > 0
