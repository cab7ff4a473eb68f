"""The simulator serves what a Knack user or a bad import can put in a record: NUL characters, a far-future time."""

from __future__ import annotations

import json
from datetime import datetime


def test_set_value_serves_a_nul_character_escaped_in_the_json_and_touches_the_record(fresh) -> None:
    app, client = fresh
    record_id = sorted(app.tables["object_4"].rows)[0]
    before = app.tables["object_4"].value(record_id, "field_31")
    app.now = app.now.replace(hour=10, minute=30)
    app.set_value("object_4", record_id, "field_21", {"first": "Jo\x00hn", "last": "Smith"})
    response = client.get(f"/objects/object_4/records/{record_id}")
    assert '"Jo\\u0000hn"' in response.text
    record = response.json()
    assert record["field_21_raw"] == {"first": "Jo\x00hn", "last": "Smith"}
    assert app.tables["object_4"].value(record_id, "field_31") == app.now.replace(second=0) != before


def test_set_value_on_the_modified_field_keeps_a_far_future_time_and_filters_see_it(fresh) -> None:
    app, client = fresh
    record_id = sorted(app.tables["object_4"].rows)[1]
    app.set_value("object_4", record_id, "field_31", datetime(9999, 12, 31, 23, 59))
    rule = {"field": "field_31", "operator": "is after", "value": "01/01/9999 00:00"}
    page = client.page("object_4", filters=json.dumps([rule]), rows_per_page=1000)
    assert [r["id"] for r in page["records"]] == [record_id]
    assert page["records"][0]["field_31"] == "31/12/9999 23:59"
    assert page["records"][0]["field_31_raw"]["iso_timestamp"] == "9999-12-31T23:59:00.000Z"
