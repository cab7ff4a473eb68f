"""Typed tables and link tables (schema `knack`) for the knackpy fixture app, with an empty mapping.

Two builds: the first types every record; between them one record changes, one is deleted and the
connected customer is deleted; the second retypes only those.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import pytest
from raw_loader import load_metadata, load_records

from knackhouse import warehouse
from knackhouse.dbt import DbtProject, DbtResult
from knackhouse.settings import Settings

Query = Callable[..., list[tuple]]
CUSTOMER = "5ea46ad2b6ce4b0015000ae8"
GHOST = "000000000000000000000bad"
GHOST_HOLDER = "5d7964422d7159001659b2ff"


def _delete(database_url: str, table: str, knack_id: str) -> None:
    """Mark a record deleted as ingest's reconcile scan does: the raw row rewritten by a newer load."""
    load_id = f"{time.time():.6f}"
    with warehouse.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(f'update raw_knack."{table}" set _deleted_at = now(), _dlt_load_id = %s where id = %s',
                    (load_id, knack_id))
        cur.execute("insert into raw_knack._dlt_loads values (%s, 'knack', 0, now(), null)", (load_id,))


def _versions(query: Query) -> dict[str, str]:
    """knack_id -> the row version (xmin) of each typed record: a retyped record is a new row version."""
    return dict(query("select knack_id, xmin::text from knack.all_fields_test"))


@pytest.fixture(scope="module")
def builds(module_settings: Settings, module_database: str, knackpy_app: tuple[dict, list[dict]],
           query: Query) -> dict[str, Any]:
    metadata, records = knackpy_app
    tables = load_metadata(module_database, metadata)
    ghost_holder = copy.deepcopy(records[0]) | {
        "id": GHOST_HOLDER, "field_128_raw": [{"id": GHOST, "identifier": "Nobody"}],
    }
    load_records(module_database, tables["object_3"], [*records, ghost_holder])
    load_records(module_database, tables["object_7"], [{"id": CUSTOMER, "field_42_raw": {"first": "Johnny"}}])
    project = DbtProject(module_settings, module_database, mapping={})
    project.prepare()
    first = project.build()
    versions = _versions(query)
    changed = copy.deepcopy(records[1]) | {"field_10_raw": 4242}
    time.sleep(0.01)  # load ids are Unix times: the next load is newer
    load_records(module_database, tables["object_3"], [changed])
    _delete(module_database, tables["object_3"], records[2]["id"])
    _delete(module_database, tables["object_7"], CUSTOMER)
    project.prepare()  # as every run does
    second = project.build()
    return {"first": first, "second": second, "versions": versions, "records": records}


def _test_results(result: DbtResult, name: str) -> list[Any]:
    return [n for n in result.results if n.unique_id.startswith(f"test.knackhouse.{name}")]


def test_both_builds_succeed(builds: dict[str, Any]) -> None:
    for step in ("first", "second"):
        assert builds[step].success, builds[step].exception
        assert not builds[step].failed_nodes, builds[step].failed_nodes


def test_every_object_gets_a_typed_table(builds: dict[str, Any], query: Query) -> None:
    tables = {r[0] for r in query(
        "select table_name from information_schema.tables where table_schema = 'knack' and table_type = 'BASE TABLE'")}
    assert {"all_fields_test", "customers", "orders", "pizzas", "toppings", "accounts", "test"} <= tables


def test_typed_columns_have_their_types(builds: dict[str, Any], query: Query) -> None:
    types = dict(query("select column_name, udt_name from information_schema.columns"
                       " where table_schema = 'knack' and table_name = 'all_fields_test'"))
    assert types["number"] == "numeric"
    assert types["currency"] == "numeric"
    assert types["yes_no"] == "bool"
    assert types["date_time_w_time_default_current"] == "timestamptz"
    assert types["date_time_w_time_default_current_local_date"] == "date"
    assert types["customer_ids"] == "_text"
    assert types["address_lat_lon_latitude"] == "numeric"
    assert types["is_deleted"] == "bool"


def test_typed_table_holds_the_staging_views_rows(builds: dict[str, Any], query: Query) -> None:
    difference = query("(select * from staging.stg_knack__all_fields_test except select * from knack.all_fields_test)"
                       " union all (select * from knack.all_fields_test"
                       " except select * from staging.stg_knack__all_fields_test)")
    assert difference == []


def test_table_and_columns_are_described_in_postgres(builds: dict[str, Any], query: Query) -> None:
    table = query("select obj_description('knack.all_fields_test'::regclass, 'pg_class')")[0][0]
    assert "all_fields_test (object_3)" in table
    comments = dict(query(
        "select a.attname, d.description from pg_description d join pg_attribute a"
        " on a.attrelid = d.objoid and a.attnum = d.objsubid where d.objoid = 'knack.all_fields_test'::regclass"))
    assert comments["number"] == "Number (field_10, Knack number)"
    assert comments["customer_ids"] == "customer (field_128, Knack connection); connects to customers (object_7)"


def test_second_build_retypes_only_the_changed_and_deleted_records(builds: dict[str, Any], query: Query) -> None:
    before, after = builds["versions"], _versions(query)
    records = builds["records"]
    retyped = {knack_id for knack_id, version in after.items() if before.get(knack_id) != version}
    assert retyped == {records[1]["id"], records[2]["id"]}
    assert query("select number from knack.all_fields_test where knack_id = %s", (records[1]["id"],))[0][0] == 4242


def test_deleted_record_is_kept_and_flagged(builds: dict[str, Any], query: Query) -> None:
    flagged = query("select is_deleted, deleted_at is not null from knack.all_fields_test where knack_id = %s",
                    (builds["records"][2]["id"],))
    assert flagged == [(True, True)]


def test_each_connection_field_gets_a_link_table_of_pairs(builds: dict[str, Any], query: Query) -> None:
    links = {r[0] for r in query("select table_name from information_schema.tables where table_schema = 'knack'"
                                 " and position('__' in table_name) > 0")}
    assert {"all_fields_test__customer", "orders__customer", "orders__pizzas", "orders__parent_order",
            "pizzas__toppings"} <= links
    pairs = query("select from_knack_id, to_knack_id from knack.all_fields_test__customer order by 1")
    holders = sorted(r["id"] for r in builds["records"] if r.get("field_128_raw") and r["id"] != builds[
        "records"][2]["id"])
    assert pairs == sorted([(h, CUSTOMER) for h in holders] + [(GHOST_HOLDER, GHOST)])


def test_link_tables_have_a_relationships_test_to_the_target(builds: dict[str, Any]) -> None:
    tests = _test_results(builds["first"], "knack_link_relationships")
    tested = {t.unique_id.split(".")[2] for t in tests}
    assert any("all_fields_test__customer" in name for name in tested)
    assert len(tests) == 5  # one per connection field of the app


def test_dangling_connection_is_counted_not_dropped(builds: dict[str, Any], query: Query) -> None:
    [first] = [t for t in _test_results(builds["first"], "knack_link_relationships")
               if "all_fields_test__customer" in t.unique_id]
    assert (first.status, first.failures) == ("warn", 1)
    listed = query("select from_knack_id, to_knack_id, reason from knack.dangling_connections"
                   " where link_table = 'all_fields_test__customer' and reason = 'no such record'")
    assert listed == [(GHOST_HOLDER, GHOST, "no such record")]


def test_connection_to_a_deleted_record_counts_as_dangling(builds: dict[str, Any], query: Query) -> None:
    [second] = [t for t in _test_results(builds["second"], "knack_link_relationships")
                if "all_fields_test__customer" in t.unique_id]
    deleted = query("select count(*) from knack.dangling_connections where reason = 'deleted'")[0][0]
    assert deleted >= 1
    assert second.failures == deleted + 1


def test_analyst_role_reads_the_typed_schema_after_publish(builds: dict[str, Any], module_settings: Settings,
                                                           module_database: str, query: Query) -> None:
    project = DbtProject(module_settings, module_database, mapping={})
    assert project.run_operation("publish_marts").success
    granted = query("select has_table_privilege('knackhouse_analyst', 'knack.all_fields_test', 'select'),"
                    " has_schema_privilege('knackhouse_analyst', 'knack', 'usage'),"
                    " has_table_privilege('knackhouse_analyst', 'raw_knack.all_fields_test', 'select')")
    assert granted == [(True, True, False)]

