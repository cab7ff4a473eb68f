"""Loading whole apps: the knackpy fixture app (never seen before) and the demo app, checked against the truth."""

from __future__ import annotations

import json


def test_the_knackpy_app_lands_with_all_25_records_exactly_as_sent(knackpy_app, knackpy_dir, serve, ingest, raw,
                                                                     empty_mapping) -> None:
    sim = serve(knackpy_app)
    result = ingest(sim, settings={"app_config": empty_mapping})
    sent = json.loads((knackpy_dir / "all_fields_records.json").read_text())["records"]
    rows = raw.rows("object_3")
    assert len(rows) == 25
    assert {i: r["record"] for i, r in rows.items()} == {r["id"]: r for r in sent}
    assert result.object("object_3").inserted == 25 and result.object("object_3").full_scan


def test_the_knackpy_app_metadata_is_stored_with_its_zone_objects_and_fields(knackpy_app, knackpy_dir, serve, ingest,
                                                                              raw, empty_mapping) -> None:
    sim = serve(knackpy_app)
    result = ingest(sim, settings={"app_config": empty_mapping})
    metadata = json.loads((knackpy_dir / "app_metadata.json").read_text())
    app = raw.query("select app_id, name, timezone, timezone_iana, metadata from raw_knack._knack_app")
    assert len(app) == 1
    assert app[0][2:4] == ("Central Time (US & Canada)", "America/Chicago")
    assert app[0][4] == metadata
    assert result.timezone_iana == "America/Chicago" and result.metadata == metadata
    objects = dict(raw.query("select object_key, table_name from raw_knack._knack_objects"))
    assert objects == {"object_3": "all_fields_test", "object_7": "customers", "object_4": "orders",
                       "object_2": "pizzas", "object_10": "toppings", "object_6": "accounts", "object_15": "test"}
    stored = raw.query("select object_key, field_key, name, type, format, position from raw_knack._knack_fields"
                       " where object_key = 'object_3' order by position")
    expected = next(o for o in metadata["application"]["objects"] if o["key"] == "object_3")["fields"]
    assert [(r[1], r[2], r[3], r[4]) for r in stored] == [(f["key"], f["name"], f["type"], f.get("format"))
                                                          for f in expected]


def test_every_object_gets_its_table_even_when_it_has_no_records(knackpy_app, serve, ingest, raw,
                                                                   empty_mapping) -> None:
    sim = serve(knackpy_app)
    result = ingest(sim, settings={"app_config": empty_mapping})
    assert {"all_fields_test", "customers", "orders", "pizzas", "toppings", "accounts", "test"} <= raw.tables()
    assert raw.rows("object_7") == {}
    assert all(o.note == "full scan: no modified field configured" for o in result.objects)


def test_raw_tables_keep_each_record_whole_in_one_jsonb_column_with_id_as_primary_key(knackpy_app, serve, ingest,
                                                                                        raw, empty_mapping) -> None:
    sim = serve(knackpy_app)
    ingest(sim, settings={"app_config": empty_mapping})
    columns = raw.query("select column_name, data_type from information_schema.columns where table_schema ="
                        " 'raw_knack' and table_name = 'all_fields_test' order by ordinal_position")
    assert dict(columns) == {"id": "character varying", "record": "jsonb",
                             "_knack_created_at": "timestamp with time zone",
                             "_knack_modified_at": "timestamp with time zone",
                             "_first_seen_at": "timestamp with time zone", "_last_seen_at": "timestamp with time zone",
                             "_deleted_at": "timestamp with time zone", "_dlt_load_id": "character varying",
                             "_dlt_id": "character varying"}
    key = raw.query("select a.attname from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid"
                    " and a.attnum = any(c.conkey) where c.conrelid = 'raw_knack.all_fields_test'::regclass"
                    " and c.contype = 'p'")
    assert key == [("id",)]
    assert not [t for t in raw.tables() if "__" in t], "dlt made child tables"


def test_raw_tables_are_indexed_on_their_load_id_so_newer_loads_are_read_without_a_full_scan(
        demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    ingest(sim)
    demo_app.advance(1)
    ingest(sim)
    table = raw.query("select table_name from raw_knack._knack_objects where object_key = 'object_4'")[0][0]
    indexed = raw.query("select indexdef from pg_indexes where schemaname = 'raw_knack' and tablename = %s"
                        " and indexdef like '%%_dlt_load_id%%'", (table,))
    assert len(indexed) == 1 and "(_dlt_load_id)::numeric" in indexed[0][0]
    newest_but_one = raw.query("select load_id from raw_knack._dlt_loads order by load_id::numeric desc"
                               " offset 1 limit 1")[0][0]
    plan = "\n".join(r[0] for r in raw.query(
        # a small test table is cheaper to scan whole; what is checked is that the index serves the predicate
        f'set enable_seqscan = off; explain select id from raw_knack."{table}"'
        f" where _dlt_load_id::numeric > {newest_but_one}"))
    assert "Index" in plan and "Seq Scan" not in plan, plan


def test_a_demo_app_full_load_equals_the_simulators_truth(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    result = ingest(sim)
    truth = demo_app.truth()
    for object_key, ids in truth.live_ids.items():
        assert raw.live_ids(object_key) == set(ids), object_key
        assert result.object(object_key).inserted == len(ids)
    sent = {rid: json.loads(demo_app.tables["object_4"].render(rid)) for rid in truth.live_ids["object_4"]}
    assert {i: r["record"] for i, r in raw.rows("object_4").items()} == sent


def test_a_full_load_asks_for_whole_pages_only(demo_app, serve, ingest) -> None:
    sim = serve(demo_app)
    result = ingest(sim)
    pages = {key: -(-len(table.rows) // 1000) for key, table in demo_app.tables.items()}
    assert result.api_requests == 1 + sum(pages.values())
    assert {o.object_key: o.requests for o in result.objects} == pages
    assert sim.request_count == result.api_requests


def test_modified_and_created_times_are_true_utc_instants(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    ingest(sim)
    rows = raw.rows("object_1")
    some_id, row = next(iter(rows.items()))
    wall = demo_app.tables["object_1"].value(some_id, "field_6")
    assert row["_knack_modified_at"] == wall.replace(tzinfo=demo_app.zone)
    assert row["_knack_created_at"].timestamp() == int(some_id[:8], 16)
