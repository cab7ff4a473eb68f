"""Filters (every operator, and/or, unknown keys) and sorting, checked against the app's own records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from knack_client import Client

from simulator.demo import DemoApp


def ids(client: Client, object_key: str, **params: Any) -> set[str]:
    return {r["id"] for r in client.scan(object_key, **params)}


def rule(field: str, operator: str, value: Any = "") -> dict[str, Any]:
    return {"match": "and", "rules": [{"field": field, "operator": operator, "value": value}]}


def test_is_matches_a_text_value_case_insensitively(demo: Client, demo_app: DemoApp) -> None:
    rows = demo_app.tables["object_1"].rows
    wanted = {rid for rid, row in rows.items() if row[3] == "Australia"}
    assert wanted and ids(demo, "object_1", filters=rule("field_4", "is", "australia")) == wanted


def test_is_not_excludes_the_value(demo: Client, demo_app: DemoApp) -> None:
    rows = demo_app.tables["object_1"].rows
    assert ids(demo, "object_1", filters=rule("field_2", "is not", "Active")) == \
        {rid for rid, row in rows.items() if row[1] != "Active"}


def test_is_blank_and_is_not_blank_split_the_records(demo: Client, demo_app: DemoApp) -> None:
    blank = ids(demo, "object_3", filters=rule("field_14", "is blank"))
    filled = ids(demo, "object_3", filters=rule("field_14", "is not blank"))
    assert blank and filled and not blank & filled
    assert blank | filled == set(demo_app.tables["object_3"].rows)
    assert blank == {rid for rid, row in demo_app.tables["object_3"].rows.items() if not row[2]}


def test_contains_and_does_not_contain_split_the_records(demo: Client, demo_app: DemoApp) -> None:
    portal = ids(demo, "object_1", filters=rule("field_3", "contains", "COACHING PORTAL"))
    other = ids(demo, "object_1", filters=rule("field_3", "does not contain", "coaching portal"))
    rows = demo_app.tables["object_1"].rows
    assert portal == {rid for rid, row in rows.items() if "coaching portal" in (row[2] or "").lower()}
    assert portal | other == set(rows) and not portal & other


def test_contains_sees_through_html_in_a_text_email(demo: Client) -> None:
    records = demo.scan("object_4", filters=rule("field_20", "contains", "mailto"))
    assert records == []


def test_starts_with_and_ends_with(demo: Client, demo_app: DemoApp) -> None:
    rows = demo_app.tables["object_1"].rows
    name = next(iter(rows.values()))[0]
    assert ids(demo, "object_1", filters=rule("field_1", "starts with", name[:4])) == \
        {rid for rid, row in rows.items() if row[0].lower().startswith(name[:4].lower())}
    assert ids(demo, "object_1", filters=rule("field_5", "ends with", ".edu.au")) == \
        {rid for rid, row in rows.items() if row[3] == "Australia"}


def test_is_after_with_a_time_compares_by_minute_in_the_display_format(demo: Client, demo_app: DemoApp) -> None:
    pivot = datetime(2025, 9, 29, 10, 30)
    got = ids(demo, "object_4", filters=rule("field_31", "is after", "29/09/2025 10:30"))
    assert got == {rid for rid, row in demo_app.tables["object_4"].rows.items() if row[11] > pivot}


def test_is_before_a_date_without_time_compares_by_day(demo: Client, demo_app: DemoApp) -> None:
    got = ids(demo, "object_4", filters=rule("field_30", "is before", "01/01/2024"))
    expected = {rid for rid, row in demo_app.tables["object_4"].rows.items()
                if row[10].date() < datetime(2024, 1, 1).date()}
    assert got == expected and got


def test_is_after_a_date_without_time_excludes_that_whole_day(demo: Client, demo_app: DemoApp) -> None:
    got = ids(demo, "object_4", filters=rule("field_30", "is after", "15/09/2025"))
    assert got == {rid for rid, row in demo_app.tables["object_4"].rows.items()
                   if row[10].date() > datetime(2025, 9, 15).date()}


def test_higher_than_and_lower_than_compare_numbers(demo: Client, demo_app: DemoApp) -> None:
    rows = demo_app.tables["object_4"].rows
    assert ids(demo, "object_4", filters=rule("field_29", "higher than", "7")) == \
        {rid for rid, row in rows.items() if row[9] > 7}
    assert ids(demo, "object_4", filters=rule("field_29", "lower than", 3)) == \
        {rid for rid, row in rows.items() if row[9] < 3}


def test_is_on_a_connection_matches_the_record_id(demo: Client, demo_app: DemoApp) -> None:
    school = sorted(demo_app.tables["object_1"].rows)[0]
    got = ids(demo, "object_3", filters=rule("field_14", "is", school))
    assert got == {rid for rid, row in demo_app.tables["object_3"].rows.items() if row[2] == (school,)}


def test_match_and_requires_every_rule(demo: Client, demo_app: DemoApp) -> None:
    filters = {"match": "and", "rules": [{"field": "field_23", "operator": "is", "value": "2"},
                                         {"field": "field_29", "operator": "higher than", "value": "6"}]}
    assert ids(demo, "object_4", filters=filters) == \
        {rid for rid, row in demo_app.tables["object_4"].rows.items() if row[3] == 2 and row[9] > 6}


def test_match_or_takes_either_rule(demo: Client, demo_app: DemoApp) -> None:
    filters = {"match": "or", "rules": [{"field": "field_23", "operator": "is", "value": "1"},
                                        {"field": "field_23", "operator": "is", "value": "3"}]}
    assert ids(demo, "object_4", filters=filters) == \
        {rid for rid, row in demo_app.tables["object_4"].rows.items() if row[3] in (1, 3)}


def test_a_bare_list_of_rules_is_accepted(demo: Client, demo_app: DemoApp) -> None:
    got = ids(demo, "object_1", filters=[{"field": "field_4", "operator": "is", "value": "UK"}])
    assert got == {rid for rid, row in demo_app.tables["object_1"].rows.items() if row[3] == "UK"}


def test_a_rule_on_a_field_label_is_ignored_and_everything_comes_back(demo: Client, demo_app: DemoApp) -> None:
    body = demo.page("object_1", rows_per_page=1000, filters=rule("Country", "is", "UK"))
    assert body["total_records"] == len(demo_app.tables["object_1"].rows)


def test_filters_that_are_not_json_are_400(demo: Client) -> None:
    assert demo.get("/objects/object_1/records", filters="{not json").status_code == 400


def test_an_unknown_operator_is_400(demo: Client) -> None:
    assert demo.get("/objects/object_1/records", filters=rule("field_1", "sounds like", "x")).status_code == 400


def test_sort_on_a_date_field_orders_by_the_instant(demo: Client) -> None:
    records = demo.scan("object_4", sort_field="field_31", sort_order="asc")
    stamps = [r["field_31_raw"]["unix_timestamp"] for r in records]
    shown = [r["field_31"] for r in records]
    assert stamps == sorted(stamps)
    assert shown != sorted(shown)  # dd/mm/yyyy text order is not time order


def test_sort_desc_reverses_the_order(demo: Client) -> None:
    records = demo.scan("object_4", sort_field="field_30", sort_order="desc")
    stamps = [r["field_30_raw"]["unix_timestamp"] for r in records]
    assert stamps == sorted(stamps, reverse=True)


def test_sort_on_a_text_field_is_alphabetical_ignoring_case(demo: Client) -> None:
    names = [r["field_1"] for r in demo.scan("object_1", sort_field="field_1", sort_order="asc")]
    assert names == sorted(names, key=str.lower)


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_the_incremental_read_a_loader_makes_pages_through_every_changed_record(
        demo: Client, demo_app: DemoApp, order: str) -> None:
    params = {"filters": rule("field_19", "is after", "01/09/2025 00:00"), "sort_field": "field_19",
              "sort_order": order}
    got = [r["id"] for r in demo.scan("object_3", **params)]
    expected = {rid for rid, row in demo_app.tables["object_3"].rows.items() if row[7] > datetime(2025, 9, 1)}
    assert len(got) == len(set(got)) and set(got) == expected
