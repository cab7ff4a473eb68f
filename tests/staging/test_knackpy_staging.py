"""Staging over the knackpy fixture app: every field type typed from its metadata, Central Time undone."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from raw_loader import load_metadata, load_records

from knackhouse.dbt import DbtProject, DbtResult
from knackhouse.settings import Settings

Query = Callable[..., list[tuple]]


@pytest.fixture(scope="module")
def built(module_settings: Settings, module_database: str, knackpy_app: tuple[dict, list[dict]]) -> DbtResult:
    metadata, records = knackpy_app
    tables = load_metadata(module_database, metadata)
    full = records[0]
    empty = {"id": "5d7964422d7159001659b27b"}
    broken = copy.deepcopy(full) | {
        "id": "5d7964422d7159001659b27c",
        "field_10_raw": "12abc",
        "field_20_raw": {"email": "not an email"},
    }
    broken["field_37_raw"] = {"date": "02/31/2019", "hours": "02", "minutes": "43", "am_pm": "AM"}
    parts_only = {
        "id": "5d7964422d7159001659b27d",
        "field_13_raw": {"date": "07/03/2018", "hours": "10", "minutes": "26", "am_pm": "PM"},
    }
    load_records(module_database, tables["object_3"], [full, empty, broken, parts_only])
    project = DbtProject(module_settings, module_database)
    project.prepare()
    return project.build()


def row(query: Query, knack_id: str = "5d7964422d7159001659b27a") -> dict:
    cols = query("select * from staging.stg_knack__all_fields_test where knack_id = %s", (knack_id,))
    names = [
        r[0]
        for r in query(
            "select column_name from information_schema.columns where table_schema = 'staging'"
            " and table_name = 'stg_knack__all_fields_test' order by ordinal_position"
        )
    ]
    return dict(zip(names, cols[0], strict=True))


def test_build_succeeds_for_an_app_with_no_code_of_its_own(built: DbtResult) -> None:
    assert built.success, built.exception
    assert not built.failed_nodes


def test_every_object_gets_a_staging_view(built: DbtResult, query: Query) -> None:
    views = {r[0] for r in query("select table_name from information_schema.views where table_schema = 'staging'")}
    assert {
        "stg_knack__all_fields_test",
        "stg_knack__customers",
        "stg_knack__orders",
        "stg_knack__pizzas",
        "stg_knack__toppings",
        "stg_knack__accounts",
        "stg_knack__parse_problems",
    } <= views


def test_central_time_wall_clock_becomes_true_utc(built: DbtResult, query: Query) -> None:
    r = row(query)
    assert r["date_time_w_time_default_current"] == datetime(2018, 7, 3, 15, 26, tzinfo=UTC)
    assert r["date_time_w_time_default_current_local_date"] == date(2018, 7, 3)


def test_date_without_iso_timestamp_is_built_from_its_raw_parts(built: DbtResult, query: Query) -> None:
    r = row(query, "5d7964422d7159001659b27d")
    assert r["date_time_w_time_default_current"] == datetime(2018, 7, 4, 3, 26, tzinfo=UTC)
    assert r["date_time_w_time_default_current_local_date"] == date(2018, 7, 3)


def test_date_range_has_start_and_end(built: DbtResult, query: Query) -> None:
    r = row(query)
    assert r["date_time_range"] == datetime(2019, 9, 11, 21, 14, tzinfo=UTC)
    assert r["date_time_range_end"] == datetime(2019, 9, 11, 22, 14, tzinfo=UTC)


def test_numbers_currency_rating_and_auto_increment_are_numeric(built: DbtResult, query: Query) -> None:
    r = row(query)
    assert (r["number"], r["currency"], r["rating"], r["auto_increment"]) == (
        Decimal(100),
        Decimal("100.43"),
        Decimal(0),
        Decimal(1),
    )


def test_name_is_split_into_parts_from_the_raw_value(built: DbtResult, query: Query) -> None:
    r = row(query)
    assert (r["name_first"], r["name_middle"], r["name_last"], r["name_full"]) == (
        "Pizza",
        "Danger",
        "the Hut",
        "Pizza Danger the Hut",
    )


def test_email_is_normalised_and_flagged_well_formed(built: DbtResult, query: Query) -> None:
    r = row(query)
    assert (r["email"], r["email_is_malformed"]) == ("pizzathehut@spaceballs.com", False)


def test_boolean_multiple_choice_and_text(built: DbtResult, query: Query) -> None:
    r = row(query)
    assert (r["yes_no"], r["pytest_record"]) == (True, False)
    assert r["multiple_choice"] == "Extra Cheese"
    assert r["short_text"] == "hello"
    assert r["text_formula_simple"] == "he two three (four)"


def test_address_phone_link_file_image_give_their_parts(built: DbtResult, query: Query) -> None:
    r = row(query)
    assert (r["address_usa_street"], r["address_usa_city"], r["address_usa_zip"]) == (
        "8700 Cameron Rd",
        "Austin",
        "78754",
    )
    assert (r["address_lat_lon_latitude"], r["address_lat_lon_country"]) == (Decimal(10), "Nigeria")
    assert (r["phone_full"], r["phone_area"]) == ("5129743546", "512")
    assert r["link_url"].startswith("https://data.austintexas.gov/")
    assert r["file_filename"] == "0.omfbylawsapproved1.pdf"
    assert r["image_filename"] == "my_car_mazda_q.jpg"
    assert r["image_from_web_url"] == "google.com"


def test_connection_gives_id_and_identifier_arrays(built: DbtResult, query: Query) -> None:
    r = row(query)
    assert r["customer_ids"] == ["5ea46ad2b6ce4b0015000ae8"]
    assert r["customer_identifiers"] == ["Johnny C"]


def test_empty_record_gives_null_in_every_field_column(built: DbtResult, query: Query) -> None:
    r = row(query, "5d7964422d7159001659b27b")
    base = {"knack_id", "created_at", "first_seen_at", "last_seen_at", "is_deleted", "load_id"}
    assert {k: v for k, v in r.items() if k not in base and v is not None} == {}


def test_unparseable_values_are_null_and_listed_as_parse_problems(built: DbtResult, query: Query) -> None:
    r = row(query, "5d7964422d7159001659b27c")
    assert r["number"] is None
    assert (r["email"], r["email_is_malformed"]) == (None, True)
    problems = query(
        "select field_key, raw_value, reason from staging.stg_knack__parse_problems"
        " where knack_id = '5d7964422d7159001659b27c' order by field_key"
    )
    assert [(p[0], p[2]) for p in problems] == [
        ("field_10", "not a number"),
        ("field_20", "not a valid email address"),
        ("field_37", "not a valid date/time"),
    ]
    assert r["pytest_modified_date"] is None
    assert problems[0][1] == '"12abc"'


def test_dangling_connection_is_a_stored_test_failure(built: DbtResult, query: Query) -> None:
    warned = [n for n in built.results if "knack_connection_stg_knack__all_fields_test_customer" in n.unique_id]
    assert [(n.status, n.failures) for n in warned] == [("warn", 2)]
    tables = [
        r[0]
        for r in query(
            "select table_name from information_schema.tables where table_schema = 'test_failures'"
            " and table_name like 'knack_connection_stg_knack__al%%'"
        )
    ]
    stored = query(f'select record_id, connected_id from test_failures."{tables[0]}" order by record_id')
    assert ("5d7964422d7159001659b27a", "5ea46ad2b6ce4b0015000ae8") in stored


def test_docs_generate_describes_columns_from_the_metadata(
    built: DbtResult, module_settings: Settings, module_database: str
) -> None:
    target = DbtProject(module_settings, module_database).docs_generate()
    manifest = json.loads((target / "manifest.json").read_text())
    column = manifest["nodes"]["model.knackhouse.stg_knack__orders"]["columns"]["customer_ids"]
    assert (target / "index.html").exists()
    assert column["description"] == "customer (field_43, Knack connection); connects to customers (object_7)"
    assert column["meta"]["field_key"] == "field_43"
