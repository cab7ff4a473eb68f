"""The simulator stores and serves absurd values and changes a field's type the way Knack does."""

from __future__ import annotations

import json
from datetime import datetime

from simulator import DemoApp
from simulator.demo_schema import R_CYCLE, R_EFFORT, R_MODIFIED, R_VISION, RESULTS, S_EMAIL, S_UPLOAD, STUDENTS


def _record(app: DemoApp, object_key: str, record_id: str) -> dict:
    return json.loads(app.tables[object_key].render_text(record_id))


def test_set_value_serves_any_value_in_knacks_shape_and_moves_the_modified_field() -> None:
    app = DemoApp.generate(scale=0.01, seed=2)
    results, students = app.tables[RESULTS], app.tables[STUDENTS]
    result, student = sorted(results.rows)[0], sorted(students.rows)[0]
    huge, obj = results.fields[R_VISION].key, results.fields[R_EFFORT].key
    app.now = app.now.replace(hour=9, minute=30)
    app.set_value(RESULTS, result, huge, 1e300)
    app.set_value(RESULTS, result, obj, {"score": 7})
    app.set_value(STUDENTS, student, students.fields[S_UPLOAD].key, datetime(9999, 12, 31))
    app.set_value(STUDENTS, student, students.fields[S_EMAIL].key, "ab\u200bc@school.org")
    served = _record(app, RESULTS, result)
    assert (served[f"{huge}_raw"], served[f"{obj}_raw"]) == (1e300, {"score": 7})
    assert results.rows[result][R_MODIFIED] == app.now
    pupil = _record(app, STUDENTS, student)
    assert pupil[f"{students.fields[S_UPLOAD].key}_raw"]["iso_timestamp"].startswith("9999-12-31")
    assert pupil[f"{students.fields[S_EMAIL].key}_raw"] == {"email": "ab\u200bc@school.org"}


def test_change_field_type_converts_values_and_metadata_but_moves_no_modified_field() -> None:
    app = DemoApp.generate(scale=0.01, seed=2)
    results = app.tables[RESULTS]
    cycle = results.fields[R_CYCLE].key
    modified_before = {rid: row[R_MODIFIED] for rid, row in results.rows.items()}
    app.change_field_type(RESULTS, cycle, "multiple_choice", convert=str, field_format={"type": "single"})
    (spec,) = [f for o in app.metadata()["application"]["objects"] if o["key"] == RESULTS
               for f in o["fields"] if f["key"] == cycle]
    assert (spec["type"], spec["format"]) == ("multiple_choice", {"type": "single"})
    first = sorted(results.rows)[0]
    assert _record(app, RESULTS, first)[f"{cycle}_raw"] in ("1", "2", "3")
    assert {rid: row[R_MODIFIED] for rid, row in results.rows.items()} == modified_before
