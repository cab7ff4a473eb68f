"""Staging tests read only the loads they have not yet passed on; a full refresh reads every row again."""

from __future__ import annotations

from decimal import Decimal

import pytest
from raw_loader import load_metadata, load_records
from synthetic_app import synthetic_metadata, synthetic_records

from knackhouse.dbt import DbtProject, DbtResult, NodeResult
from knackhouse.settings import Settings
from knackhouse.warehouse import connect

CONNECTION_TEST = "knack_connection_stg_knack__thing_1_"
UNIQUE_TEST = "unique_knack_id_stg_knack__thing_2_knack_id"
NEW_ID = "5e0000000000000000000001"
DANGLING = [{"id": "5dffffffffffffffffffffff", "identifier": "gone"}]


def _run(database_url: str, sql: str) -> None:
    with connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(sql)


@pytest.fixture(scope="module")
def days(module_settings: Settings, module_database: str) -> dict[str, object]:
    """Builds over a sequence of loads and raw edits; each step's result and the watermarks after it."""
    metadata = synthetic_metadata(objects=2, fields_per_object=9)
    objects = metadata["application"]["objects"]
    tables = load_metadata(module_database, metadata)
    load_records(module_database, tables["object_2"], synthetic_records(objects[1], 10))
    things = synthetic_records(objects[0], 10)
    first_load = load_records(module_database, tables["object_1"], things)
    project = DbtProject(module_settings, module_database)
    project.prepare()
    steps: dict[str, object] = {"first_load": first_load, "passed": project.build()}
    steps["watermarks_after_pass"] = _watermarks(module_database)
    # an already-tested row broken in place, without a new load: nothing a real load can do, so not re-read
    _run(
        module_database,
        'update raw_knack.thing_1 set record = record || \'{"field_1008_raw": '
        f'[{{"id": "{DANGLING[0]["id"]}"}}]}}\' where id = \'{things[0]["id"]}\'',
    )
    steps["old_row_broken"] = project.build()
    steps["broken_in_place"] = things[0]["id"]
    new = synthetic_records(objects[0], 1, seed=9)[0] | {"id": NEW_ID, "field_1008_raw": DANGLING}
    load_records(module_database, tables["object_1"], [new])
    steps["new_row_dangling"] = project.build()
    steps["rebuilt_while_warning"] = project.build()
    steps["watermarks_while_warning"] = _watermarks(module_database)
    steps["full_refresh"] = project.build(full_refresh=True)
    steps["stored_after_full_refresh"] = _stored_failures(module_database)
    _run(module_database, "alter table raw_knack.thing_2 drop constraint thing_2_pkey")
    original = synthetic_records(objects[1], 1)[0]
    later_load = f"{float(first_load) + 1e6:.6f}"
    _run(
        module_database,
        "insert into raw_knack.thing_2 select id, record, _knack_created_at, _knack_modified_at, _first_seen_at,"
        f" _last_seen_at, _deleted_at, '{later_load}', _dlt_id from raw_knack.thing_2"
        f" where id = '{original['id']}'",
    )
    _run(
        module_database,
        "insert into raw_knack._dlt_loads (load_id, schema_name, status, inserted_at)"
        f" values ('{later_load}', 'knack', 0, now())",
    )
    steps["duplicate_id"] = project.build()
    return steps


def _stored_failures(database_url: str) -> set[str]:
    """Record ids in the stored failures of the connection tests."""
    with connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "select table_name from information_schema.tables where table_schema = 'test_failures'"
            " and table_name like 'knack_connection_stg_knack__th%%'"
        )
        stored = set()
        for (table,) in cur.fetchall():
            cur.execute(f'select record_id from test_failures."{table}"')
            stored |= {row[0] for row in cur.fetchall()}
        return stored


def _watermarks(database_url: str) -> dict[str, Decimal]:
    with connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("select test_id, tested_through_load from audit.tested_loads")
        return dict(cur.fetchall())


def _node(result: object, name: str) -> NodeResult:
    assert isinstance(result, DbtResult)
    return next(n for n in result.results if name in n.unique_id)


def test_a_passing_test_records_the_loads_it_covered(days: dict[str, object]) -> None:
    marks = days["watermarks_after_pass"]
    assert isinstance(marks, dict)
    covered = {test_id.split(".")[2].split("_stg_knack__")[0] for test_id in marks}
    assert covered == {"knack_connection", "unique_knack_id"}
    assert set(marks.values()) == {Decimal(str(days["first_load"]))}


def test_rows_already_passed_are_not_read_again(days: dict[str, object]) -> None:
    node = _node(days["old_row_broken"], CONNECTION_TEST)
    assert (node.status, node.failures) == ("pass", 0)


def test_a_new_row_with_a_dangling_connection_warns(days: dict[str, object]) -> None:
    node = _node(days["new_row_dangling"], CONNECTION_TEST)
    assert (node.status, node.failures) == ("warn", 1)


def test_a_warning_test_keeps_its_watermark_and_reports_again(days: dict[str, object]) -> None:
    node = _node(days["rebuilt_while_warning"], CONNECTION_TEST)
    assert (node.status, node.failures) == ("warn", 1)
    before, after = days["watermarks_after_pass"], days["watermarks_while_warning"]
    assert isinstance(before, dict) and isinstance(after, dict)
    connection = next(test_id for test_id in before if CONNECTION_TEST in test_id)
    assert after[connection] == before[connection]


def test_a_full_refresh_tests_every_row(days: dict[str, object]) -> None:
    node = _node(days["full_refresh"], CONNECTION_TEST)
    assert (node.status, node.failures) == ("warn", 2)
    assert days["stored_after_full_refresh"] == {days["broken_in_place"], NEW_ID}


def test_a_new_row_sharing_an_old_rows_id_fails_uniqueness(days: dict[str, object]) -> None:
    node = _node(days["duplicate_id"], UNIQUE_TEST)
    assert (node.status, node.failures) == ("fail", 1)
