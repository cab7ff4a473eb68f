"""Schema drift in Knack: fields added, removed, renamed or retyped and objects renamed never break a load."""

from __future__ import annotations

from typing import Any

from simulator import FixtureApp

APP_ID = "64b7f0c2a1b2c3d4e5f60718"


def _app(fields: list[dict[str, Any]], records: list[dict[str, Any]], name: str = "Things") -> FixtureApp:
    metadata = {"application": {
        "id": APP_ID, "name": "Drift", "slug": "drift", "account": {"slug": "acct", "name": "acct"},
        "settings": {"timezone": "Central Time (US & Canada)"}, "scenes": [], "counts": {},
        "objects": [{"key": "object_1", "name": name, "identifier": "field_1",
                     "fields": [{"required": False, **f} for f in fields]}],
    }}
    return FixtureApp(metadata, {"object_1": records})


NAME = {"key": "field_1", "name": "Name", "type": "short_text"}
SCORE = {"key": "field_2", "name": "Score", "type": "short_text"}
RECORDS = [{"id": f"64b7f0c2a1b2c3d4e5f6{n:04x}", "field_1": f"n{n}", "field_1_raw": f"n{n}"} for n in range(3)]


def _with_score(records: list[dict[str, Any]], raw_value: Any) -> list[dict[str, Any]]:
    return [{**r, "field_2": str(raw_value), "field_2_raw": raw_value} for r in records]


def _changes(raw) -> set[tuple[str, str, Any, Any]]:
    return set(raw.query("select field_key, change, old_value, new_value from raw_knack._knack_field_changes"))


def test_a_field_added_in_knack_appears_in_the_next_load(serve, ingest, raw, empty_mapping) -> None:
    sim = serve(_app([NAME], RECORDS))
    ingest(sim, settings={"app_config": empty_mapping})
    sim.app = _app([NAME, SCORE], _with_score(RECORDS, "7"))
    result = ingest(sim, settings={"app_config": empty_mapping})
    assert all(row["record"]["field_2_raw"] == "7" for row in raw.rows("object_1").values())
    assert ("field_2", "Score", "short_text") in raw.query(
        "select field_key, name, type from raw_knack._knack_fields")
    assert _changes(raw) == {("field_2", "added", None, "short_text")}
    assert result.object("object_1").updated == 3


def test_a_field_removed_or_renamed_does_not_break_the_load(serve, ingest, raw, empty_mapping) -> None:
    sim = serve(_app([NAME, SCORE], _with_score(RECORDS, "7")))
    ingest(sim, settings={"app_config": empty_mapping})
    sim.app = _app([{**NAME, "name": "Full Name"}], RECORDS)
    ingest(sim, settings={"app_config": empty_mapping})
    assert all("field_2" not in row["record"] for row in raw.rows("object_1").values())
    assert raw.query("select field_key, name from raw_knack._knack_fields") == [("field_1", "Full Name")]
    assert _changes(raw) == {("field_1", "renamed", "Name", "Full Name"), ("field_2", "removed", "short_text", None)}


def test_a_changed_field_type_is_recorded(serve, ingest, raw, empty_mapping) -> None:
    sim = serve(_app([NAME, SCORE], _with_score(RECORDS, "7")))
    ingest(sim, settings={"app_config": empty_mapping})
    sim.app = _app([NAME, {**SCORE, "type": "number"}], _with_score(RECORDS, 7))
    result = ingest(sim, settings={"app_config": empty_mapping})
    assert _changes(raw) == {("field_2", "type_changed", "short_text", "number")}
    assert result.field_changes[0]["detail"] == "field field_2 'Score' changed type from short_text to number"
    assert all(row["record"]["field_2_raw"] == 7 for row in raw.rows("object_1").values())


def test_a_renamed_object_keeps_its_table(serve, ingest, raw, empty_mapping) -> None:
    sim = serve(_app([NAME], RECORDS))
    ingest(sim, settings={"app_config": empty_mapping})
    sim.app = _app([NAME], RECORDS, name="Renamed Things")
    ingest(sim, settings={"app_config": empty_mapping})
    assert raw.query("select object_key, name, table_name from raw_knack._knack_objects") == [
        ("object_1", "Renamed Things", "things")]
    assert "renamed_things" not in raw.tables()
    assert len(raw.rows("object_1")) == 3


def test_a_modified_field_that_vanished_falls_back_to_a_full_scan_and_says_why(serve, ingest, raw, tmp_path) -> None:
    modified = {"key": "field_3", "name": "Date Modified", "type": "date_time",
                "format": {"date_format": "mm/dd/yyyy", "time_format": "HH:MM am"}}
    stamp = {"date": "07/03/2023", "hours": "10", "minutes": "26", "am_pm": "AM",
             "iso_timestamp": "2023-07-03T10:26:00.000Z", "unix_timestamp": 1688379960000}
    dated = [{**r, "field_3": "07/03/2023 10:26am", "field_3_raw": stamp} for r in RECORDS]
    mapping = tmp_path / "mapping.yml"
    mapping.write_text("objects:\n  object_1: {modified_field: field_3}\n")
    sim = serve(_app([NAME, modified], dated))
    first = ingest(sim, settings={"app_config": mapping})
    assert first.object("object_1").cursor_after is not None
    sim.app = _app([NAME], RECORDS)
    result = ingest(sim, settings={"app_config": mapping})
    load = result.object("object_1")
    assert load.full_scan and "field_3 is not in the app's metadata" in load.note
    assert len(raw.rows("object_1")) == 3
