"""Records in Knack's true shapes: formatted and _raw values, empty fields, ids, the time zone quirk."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from knack_client import Client

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def students(demo: Client) -> list[dict[str, Any]]:
    return demo.scan("object_3")


@pytest.fixture(scope="module")
def results(demo: Client) -> list[dict[str, Any]]:
    return demo.scan("object_4")


def test_an_empty_field_is_an_empty_string_with_no_raw_key(students: list[dict[str, Any]]) -> None:
    no_consent = [r for r in students if r["field_18"] == ""]
    assert no_consent
    assert all("field_18_raw" not in r for r in no_consent)


def test_an_empty_connection_is_an_empty_string_and_an_empty_list(students: list[dict[str, Any]]) -> None:
    orphans = [r for r in students if r["field_14"] == ""]
    assert orphans
    assert all(r["field_14_raw"] == [] for r in orphans)


def test_an_email_field_is_a_mailto_link_with_the_address_raw(students: list[dict[str, Any]]) -> None:
    record = students[0]
    address = record["field_13_raw"]["email"]
    assert record["field_13"] == f'<a href="mailto:{address}">{address}</a>'


def test_a_name_is_shown_first_last_with_its_parts_raw(students: list[dict[str, Any]]) -> None:
    full = next(r for r in students if set(r["field_12_raw"]) == {"first", "last"})
    assert full["field_12"] == f'{full["field_12_raw"]["first"]} {full["field_12_raw"]["last"]}'
    assert any(set(r["field_12_raw"]) == {"first"} for r in students)
    assert any(set(r["field_12_raw"]) == {"last"} for r in students)


def test_a_connection_is_a_span_per_record_with_id_and_identifier_raw(students: list[dict[str, Any]],
                                                                      demo: Client) -> None:
    record = next(r for r in students if r["field_14_raw"])
    link = record["field_14_raw"][0]
    school = demo.get(f"/objects/object_1/records/{link['id']}").json()
    assert link["identifier"] == school["field_1"]
    assert record["field_14"] == f'<span class="{link["id"]}">{link["identifier"]}</span>'


def test_a_boolean_is_yes_or_no_with_true_or_false_raw(students: list[dict[str, Any]]) -> None:
    shown = {(r["field_18"], r["field_18_raw"]) for r in students if "field_18_raw" in r}
    assert shown == {("Yes", True), ("No", False)}


def test_a_number_is_a_number_formatted_and_raw(results: list[dict[str, Any]]) -> None:
    assert all(r["field_24"] == r["field_24_raw"] and 1 <= r["field_24_raw"] <= 10 for r in results)


def test_date_time_is_shown_dd_mm_yyyy_hh_mm_with_knacks_raw_parts(results: list[dict[str, Any]]) -> None:
    record = results[0]
    raw = record["field_30_raw"]
    assert set(raw) >= {"date", "date_formatted", "hours", "minutes", "am_pm", "unix_timestamp", "iso_timestamp",
                        "timestamp"}
    day, month, year = raw["date_formatted"].split("/")
    assert raw["date"] == f"{month}/{day}/{year}"
    assert record["field_30"] == f"{raw['date_formatted']} {raw['iso_timestamp'][11:16]}"


def test_a_date_only_field_ignores_the_time(students: list[dict[str, Any]]) -> None:
    record = students[0]
    assert len(record["field_17"]) == 10 and record["field_17_raw"]["iso_timestamp"].endswith("T00:00:00.000Z")


def test_iso_timestamp_is_london_wall_clock_labelled_utc(results: list[dict[str, Any]]) -> None:
    summer = next(r for r in results if r["field_30_raw"]["date"].startswith(("06/", "07/", "09/")))
    raw = summer["field_30_raw"]
    wall = datetime.strptime(summer["field_30"], "%d/%m/%Y %H:%M")
    assert raw["iso_timestamp"] == wall.strftime("%Y-%m-%dT%H:%M:00.000Z")
    assert raw["unix_timestamp"] == int(wall.replace(tzinfo=UTC).timestamp()) * 1000
    true_instant = wall.replace(tzinfo=LONDON)
    assert true_instant.utcoffset().total_seconds() == 3600  # BST: the label is an hour off the truth


def test_a_record_id_starts_with_its_creation_time(results: list[dict[str, Any]]) -> None:
    for record in results[:200]:
        created = datetime.fromtimestamp(int(record["id"][:8], 16), UTC).astimezone(LONDON)
        completed = datetime.strptime(record["field_30"], "%d/%m/%Y %H:%M").replace(tzinfo=LONDON)
        assert len(record["id"]) == 24 and int(record["id"], 16) >= 0
        assert created.replace(second=0) == completed


def test_result_emails_come_html_wrapped_mixed_case_and_padded(results: list[dict[str, Any]]) -> None:
    emails = [r["field_20_raw"] for r in results]
    assert any(e.startswith('<a href="mailto:') for e in emails)
    assert any(e != e.lower() and "<" not in e for e in emails)
    assert any(e != e.strip() for e in emails)
