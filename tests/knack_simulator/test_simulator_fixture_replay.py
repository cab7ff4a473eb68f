"""The knackpy app replayed from its JSON files, inside the paging envelope."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from knack_client import KNACKPY_FIXTURES, Client

from simulator.fixture import FixtureApp


def stored_records() -> list[dict]:
    return json.loads((KNACKPY_FIXTURES / "all_fields_records.json").read_text())["records"]


def test_every_record_comes_back_exactly_as_stored(knackpy: Client) -> None:
    served = {r["id"]: r for r in knackpy.scan("object_3")}
    assert served == {r["id"]: r for r in stored_records()}


def test_the_records_are_wrapped_in_the_paging_envelope(knackpy: Client) -> None:
    body = knackpy.page("object_3", rows_per_page=10, page=3)
    assert (body["total_records"], body["total_pages"], body["current_page"]) == (25, 3, 3)
    assert len(body["records"]) == 5


def test_objects_without_a_file_are_empty(knackpy: Client) -> None:
    body = knackpy.page("object_7")
    assert body["records"] == [] and body["total_records"] == 0


def test_the_metadata_is_served_as_stored(knackpy: Client) -> None:
    body = knackpy.get(f"/applications/{knackpy.sim.app_id}").json()
    assert body == json.loads((KNACKPY_FIXTURES / "app_metadata.json").read_text())
    assert body["application"]["settings"]["timezone"] == "Central Time (US & Canada)"


def test_a_date_filter_reads_the_apps_mm_dd_yyyy_format(knackpy: Client) -> None:
    got = {r["id"] for r in knackpy.scan("object_3", filters=[
        {"field": "field_13", "operator": "is after", "value": "09/11/2019"}])}
    expected = {r["id"] for r in stored_records() if "field_13_raw" in r
                and r["field_13_raw"]["iso_timestamp"][:10] > "2019-09-11"}
    assert got == expected and got


def test_a_date_filter_with_a_time_compares_the_wall_clock(knackpy: Client) -> None:
    got = {r["id"] for r in knackpy.scan("object_3", filters=[
        {"field": "field_13", "operator": "is before", "value": "07/03/2018 10:27"}])}
    assert got == {"5d7964422d7159001659b27a"}


def test_sorting_a_fixture_by_a_number_field(knackpy: Client) -> None:
    values = [r["field_11_raw"] for r in knackpy.scan("object_3", sort_field="field_11", sort_order="desc")]
    assert values == sorted(values, reverse=True)


def test_a_folder_without_metadata_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="app_metadata.json"):
        FixtureApp.load(tmp_path)


def test_a_record_file_named_for_an_object_loads_into_it(tmp_path: Path) -> None:
    (tmp_path / "app_metadata.json").write_text((KNACKPY_FIXTURES / "app_metadata.json").read_text())
    record = {"id": "5ea46ad2b6ce4b0015000ae8", "field_42": "Johnny C", "field_42_raw": "Johnny C"}
    (tmp_path / "object_7.json").write_text(json.dumps({"records": [record]}))
    app = FixtureApp.load(tmp_path)
    assert list(app.tables["object_7"].rows) == [record["id"]]
