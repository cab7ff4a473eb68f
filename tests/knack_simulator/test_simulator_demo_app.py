"""The generated demo app: its history, dirty data, clock and ground truth (checked over HTTP)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

import pytest
from knack_client import Client

from simulator.demo import DemoApp
from simulator.knack_values import academic_year, normalise_email


@pytest.fixture(scope="module")
def scanned(demo: Client) -> dict[str, list[dict[str, Any]]]:
    return {key: demo.scan(key) for key in ("object_1", "object_2", "object_3", "object_4")}


def test_the_clock_starts_on_the_given_date_with_three_academic_years_of_history(demo_app: DemoApp,
                                                                                  scanned: dict) -> None:
    assert demo_app.today == date(2025, 10, 1)
    uploads = {datetime.strptime(r["field_17"], "%d/%m/%Y").date() for r in scanned["object_3"] if r["field_17"]}
    years = {academic_year(d) for d in uploads}
    assert {"2023/2024", "2024/2025", "2025/2026"} <= years
    assert max(uploads) < demo_app.today


def test_establishments_have_the_portal_types_statuses_and_countries_of_the_real_platform(scanned: dict) -> None:
    schools = scanned["object_1"]
    assert {r["field_3"] for r in schools} == {"COACHING PORTAL", "coaching portal", "RESOURCE PORTAL", ""}
    assert {r["field_2"] for r in schools} == {"Active", "Cancelled"}
    assert {r["field_4"] for r in schools} == {"UK", "Australia"}


def test_every_object_has_a_date_modified_at_or_after_creation(scanned: dict) -> None:
    for key, field in (("object_1", "field_6"), ("object_2", "field_11"), ("object_3", "field_19"),
                       ("object_4", "field_31")):
        for record in scanned[key]:
            modified = record[f"{field}_raw"]["iso_timestamp"]
            assert modified, (key, record["id"])


def test_dirty_student_data_comes_in_the_documented_shares(scanned: dict) -> None:
    students = scanned["object_3"]
    total = len(students)
    orphans = sum(1 for r in students if not r["field_14_raw"])
    mixed = sum(1 for r in students if r["field_13_raw"]["email"] != r["field_13_raw"]["email"].lower())
    assert 0.01 < orphans / total < 0.06
    assert 0.03 < mixed / total < 0.12


def test_duplicate_students_differ_only_by_case_or_spaces(demo_app: DemoApp, scanned: dict) -> None:
    truth = demo_app.truth()
    by_id = {r["id"]: r for r in scanned["object_3"]}
    assert truth.duplicate_student_ids
    for record_id in truth.duplicate_student_ids:
        email = by_id[record_id]["field_13_raw"]["email"]
        twins = [r["field_13_raw"]["email"] for r in scanned["object_3"] if r["id"] != record_id
                 and normalise_email(r["field_13_raw"]["email"]) == normalise_email(email)]
        assert twins
        assert all(twin.strip().lower() == email.strip().lower() for twin in twins)


def test_some_results_sit_on_an_academic_year_boundary(demo_app: DemoApp, scanned: dict) -> None:
    truth = demo_app.truth()
    shown = {r["id"]: r["field_30"] for r in scanned["object_4"]}
    assert truth.boundary_result_ids
    for record_id in truth.boundary_result_ids:
        assert shown[record_id][:5] in ("31/07", "01/08", "31/12", "01/01")
        assert shown[record_id][11:13] in ("23", "00")


def test_truth_counts_student_years_as_an_independent_reading_of_the_api_does(demo_app: DemoApp,
                                                                             scanned: dict) -> None:
    countries = {r["id"]: r["field_4"] for r in scanned["object_1"]}
    expected: dict[tuple[str, str], set[str]] = defaultdict(set)
    for record in scanned["object_3"]:
        links = record["field_14_raw"]
        if not links or links[0]["id"] not in countries:
            continue
        upload = datetime.strptime(record["field_17"], "%d/%m/%Y").date()
        start = "01-01" if countries[links[0]["id"]] == "Australia" else "08-01"
        expected[(links[0]["id"], academic_year(upload, start))].add(normalise_email(record["field_13_raw"]["email"]))
    assert demo_app.truth().student_years == {key: len(emails) for key, emails in expected.items()}


def test_truth_names_every_student_without_an_establishment_as_an_orphan(demo_app: DemoApp, scanned: dict) -> None:
    truth = demo_app.truth()
    assert set(truth.orphans) == {r["id"] for r in scanned["object_3"] if not r["field_14_raw"]}
    assert set(truth.orphans.values()) == {"no_establishment"}
    for record_id, school in truth.orphan_domain_matches.items():
        assert truth.establishments[school].email_domain in truth_email(scanned, record_id)


def truth_email(scanned: dict, record_id: str) -> str:
    return next(r["field_13_raw"]["email"] for r in scanned["object_3"] if r["id"] == record_id).lower()


def test_truth_lists_the_live_ids_a_complete_scan_returns(demo_app: DemoApp, scanned: dict) -> None:
    truth = demo_app.truth()
    for key, records in scanned.items():
        assert truth.live_ids[key] == {r["id"] for r in records}


def test_truth_counts_results_by_email_year_and_cycle(demo_app: DemoApp, scanned: dict) -> None:
    countries = {r["id"]: r["field_4"] for r in scanned["object_1"]}
    keys = set()
    for record in scanned["object_4"]:
        school = record["field_22_raw"][0]["id"]
        completed = datetime.strptime(record["field_30"], "%d/%m/%Y %H:%M").date()
        year = academic_year(completed, "01-01" if countries.get(school) == "Australia" else "08-01")
        keys.add((normalise_email(record["field_20_raw"]), year, record["field_23_raw"]))
    assert demo_app.truth().result_keys == keys


def test_advance_brings_new_results_edits_and_a_later_date(fresh: tuple[DemoApp, Client]) -> None:
    app, client = fresh
    before = {r["id"]: r for r in client.scan("object_3")}
    results_before = client.page("object_4")["total_records"]
    app.advance(days=7)
    assert app.today == date(2025, 10, 8)
    after = {r["id"]: r for r in client.scan("object_3")}
    assert client.page("object_4")["total_records"] > results_before
    edited = [i for i in set(before) & set(after) if before[i]["field_19"] != after[i]["field_19"]]
    assert edited
    assert all(after[i]["field_19_raw"]["iso_timestamp"] >= "2025-10-01" for i in edited)


def test_advance_deletions_show_in_truth(fresh: tuple[DemoApp, Client]) -> None:
    app, client = fresh
    before = {r["id"] for r in client.scan("object_3")}
    app.advance(days=60)
    after = {r["id"] for r in client.scan("object_3")}
    truth = app.truth()
    assert before - after and before - after == truth.deleted_ids["object_3"]


def test_a_new_academic_year_uploads_every_student_again_with_new_ids(fresh: tuple[DemoApp, Client]) -> None:
    app, client = fresh
    app.advance(days=130)  # into February 2026: the Australian year 2026 has uploaded
    truth = app.truth()
    australian = [e.id for e in truth.establishments.values() if e.country == "Australia"]
    years = {year for (school, year) in truth.student_years if school in australian}
    assert "2026/2026" in years
    emails_2025 = {e for (e, y), s in truth.student_year_keys.items() if y == "2025/2025"}
    emails_2026 = {e for (e, y), s in truth.student_year_keys.items() if y == "2026/2026"}
    assert emails_2025 & emails_2026  # continuing students, new records


def test_vespa_scores_are_1_to_10_and_differ_between_dimensions(scanned: dict) -> None:
    dimensions = ("field_24", "field_25", "field_26", "field_27", "field_28", "field_29")
    scores = [[r[f"{key}_raw"] for key in dimensions] for r in scanned["object_4"]]
    assert all(1 <= s <= 10 for row in scores for s in row)
    assert sum(1 for row in scores if len(set(row[:5])) > 1) > 0.8 * len(scores)


def test_result_emails_are_dirty_in_the_documented_shares(scanned: dict) -> None:
    emails = [r["field_20_raw"] for r in scanned["object_4"]]
    html = sum(1 for e in emails if e.startswith("<a href="))
    assert 0.04 < html / len(emails) < 0.13


def test_an_app_starting_before_the_split_year_creates_nothing_backdated_as_it_advances() -> None:
    """Started in July, a calendar-year school's current year (from January) is generated with the app: a day
    of change must not insert that year's records with creation dates months old (an incremental scan by
    Date Modified would never see them)."""
    from datetime import date as day

    from simulator.knack_values import id_created_at

    app = DemoApp(scale=0.01, seed=5, start=day(2026, 7, 29))
    before = {key: set(table.rows) for key, table in app.tables.items()}
    app.advance(1)
    new = {rid for key, table in app.tables.items() for rid in set(table.rows) - before[key]}
    assert all(id_created_at(rid).date() >= day(2026, 7, 28) for rid in new)
