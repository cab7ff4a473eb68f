"""The mapped-field-type check on its own: what acknowledges a changed type (the flow's block is in
tests/incidents/test_mapped_field_type_change.py)."""

from __future__ import annotations

from contextlib import closing

from expectations.field_types import record_types, type_checks
from knackhouse.app_config import AppConfig
from knackhouse.warehouse import connect

MAPPING = AppConfig(raw={"entities": {"vespa_results": {"object": "object_4", "fields": {
    "student_email": "field_20", "completed_at": "field_30", "cycle": "field_23"}}}})
REMAPPED = AppConfig(raw={"entities": {"vespa_results": {"object": "object_4", "fields": {
    "student_email": "field_20", "completed_at": "field_30", "cycle": "field_40"}}}})


def _metadata(conn, cycle_type: str) -> None:
    with conn.cursor() as cur:
        cur.execute("create schema if not exists raw_knack; drop table if exists raw_knack._knack_fields; "
                    "create table raw_knack._knack_fields (object_key text, field_key text, name text, type text)")
        cur.execute("insert into raw_knack._knack_fields values ('object_4', 'field_20', 'Student Email', "
                    "'short_text'), ('object_4', 'field_30', 'Completed', 'date_time'), "
                    "('object_4', 'field_23', 'Cycle', %s), ('object_4', 'field_40', 'Cycle (new)', 'number')",
                    (cycle_type,))
    conn.commit()


def test_a_changed_type_fails_until_a_full_refresh_or_the_mapping_acknowledges_it(database_url: str) -> None:
    with closing(connect(database_url)) as conn:
        _metadata(conn, "number")
        assert [c.observed for c in type_checks(conn, MAPPING, full_refresh=False)] == [0.0]  # nothing recorded
        record_types(conn, MAPPING, "run-1")
        _metadata(conn, "multiple_choice")

        (changed,) = type_checks(conn, MAPPING, full_refresh=False)
        assert changed.observed == 1.0
        assert changed.describe == ("entities.vespa_results.fields.cycle: field field_23 (Cycle) of object_4 is now "
                                    "multiple_choice, the marts were built from it as number")
        (acknowledged,) = type_checks(conn, MAPPING, full_refresh=True)
        assert acknowledged.observed == 0.0 and "acknowledged by --full-refresh" in acknowledged.basis
        assert [c.observed for c in type_checks(conn, REMAPPED, full_refresh=False)] == [0.0]

        record_types(conn, MAPPING, "run-2")  # the acknowledged run passed: its types are the new baseline
        assert [c.observed for c in type_checks(conn, MAPPING, full_refresh=False)] == [0.0]
