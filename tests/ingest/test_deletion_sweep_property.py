"""Property: whatever creates, edits and deletes happen before and while a sweep reads, the sweep never retires
a record Knack still has, and with nothing changing while it reads it retires every record Knack deleted.

A small generic app (one object, a "Date Modified" field, many records per minute) and a page of 20 records
make the sweep bisect, read ranges of several pages and take both of its confirmation paths (the explicit
examples make sure each path meets edits that move records out of the ranges it reads)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.client import KnackClient, RateLimiter, RequestBudget
from ingest.dates import created_at, true_instant
from ingest.metadata import parse_metadata
from ingest.scan import ScanPlan
from ingest.sweep import ObjectSweep
from knackhouse.warehouse import connect
from simulator import KnackApp, SimulatorServer
from simulator.deletions import ChangesWhileReading, delete_clustered, delete_scattered
from simulator.knack_values import LONDON
from simulator.store import Field, Table

OBJECT = "object_1"
MODIFIED = Field("field_2", "Date Modified", "date_time",
                 {"date_format": "dd/mm/yyyy", "time_format": "HH MM (military)", "default_type": "current"})


def make_app(records: int, seed: int) -> KnackApp:
    rng = random.Random(seed)
    table = Table(key=OBJECT, name="Things", fields=[Field("field_1", "Name", "short_text"), MODIFIED],
                  identifier="field_1")
    start = datetime(2026, 3, 28, 22, 0)  # the clocks go forward in London in the night of the 29th
    app = KnackApp(app_id="a" * 24, name="Things", slug="things", timezone=LONDON, account_slug="acct",
                   tables=[table], now=start, id_salt=seed, modified_fields={OBJECT: "field_2"})
    minutes = sorted(rng.sample(range(0, 600), 40))
    for number in range(records):
        wall = start + timedelta(minutes=rng.choice(minutes) - 600)
        app.insert(OBJECT, (f"thing {number}", wall), wall)
    return app


def load_warehouse(connection: Any, app: KnackApp) -> datetime | None:
    """raw as an incremental read leaves it: every record Knack has now; returns the newest modified (the cursor)."""
    zone = app.zone
    table = app.tables[OBJECT]
    with connection.cursor() as cursor:
        cursor.execute("create schema if not exists raw_knack; drop table if exists raw_knack.things;"
                       " create table raw_knack.things (id text primary key, record jsonb not null,"
                       " _knack_created_at timestamptz, _knack_modified_at timestamptz, _first_seen_at timestamptz,"
                       " _last_seen_at timestamptz, _deleted_at timestamptz, _dlt_load_id text, _dlt_id text)")
        newest = None
        for record_id in table.rows:
            record = table.record_json(record_id)
            modified = true_instant(record.get("field_2_raw"), zone)
            newest = modified if newest is None or (modified and modified > newest) else newest
            cursor.execute("insert into raw_knack.things values (%s, %s, %s, %s, now(), now(), null, '1', %s)",
                           (record_id, orjson.dumps(record).decode(), created_at(record_id), modified, record_id))
    return newest


def apply(connection: Any, rows: pa.Table) -> None:
    """Write the sweep's rows the way dlt's upsert does."""
    with connection.cursor() as cursor:
        for row in rows.to_pylist():
            cursor.execute(
                "insert into raw_knack.things values (%(id)s, %(record)s, %(_knack_created_at)s,"
                " %(_knack_modified_at)s, %(_first_seen_at)s, %(_last_seen_at)s, %(_deleted_at)s, '2', %(_dlt_id)s)"
                " on conflict (id) do update"
                " set record = excluded.record, _knack_modified_at = excluded._knack_modified_at,"
                " _last_seen_at = excluded._last_seen_at, _deleted_at = excluded._deleted_at", row)


def ids(connection: Any, where: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"select id from raw_knack.things where {where}")
        return {r[0] for r in cursor}


during = st.one_of(st.none(), st.fixed_dictionaries({
    "after": st.integers(1, 6), "times": st.integers(1, 3), "deletes": st.integers(0, 4),
    "edits": st.integers(0, 6), "creates": st.integers(0, 4)}))


@example(records=300, seed=2, scattered=5, clustered=30, edits=10, creates=3, during=None, confirm_by_id_max=0)
@example(records=300, seed=3, scattered=3, clustered=40, edits=0, creates=0, confirm_by_id_max=0,
         during={"after": 2, "times": 3, "deletes": 2, "edits": 6, "creates": 2})
@example(records=250, seed=4, scattered=2, clustered=0, edits=4, creates=0, during=None, confirm_by_id_max=10)
@settings(max_examples=20, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(records=st.integers(0, 300), seed=st.integers(0, 1000), scattered=st.integers(0, 30),
       clustered=st.integers(0, 120), edits=st.integers(0, 15), creates=st.integers(0, 10), during=during,
       confirm_by_id_max=st.sampled_from([0, 10]))
def test_a_sweep_never_retires_a_record_knack_still_has(database_url, records, seed, scattered, clustered, edits,
                                                        creates, during, confirm_by_id_max) -> None:
    app = make_app(records, seed)
    rng = random.Random(seed)
    connection = connect(database_url, autocommit=True)
    server = SimulatorServer(app).start()
    try:
        cursor = load_warehouse(connection, app)
        app.now += timedelta(minutes=5)
        delete_scattered(app, OBJECT, scattered, rng)
        delete_clustered(app, OBJECT, clustered, rng)
        ChangesWhileReading(app, OBJECT, after=1, edits=edits, creates=creates, match=None, seed=seed)(
            OBJECT, {})
        deleted_before = set(app.deleted[OBJECT])
        if during is not None:
            server.on_records = ChangesWhileReading(app, OBJECT, seed=seed + 1, **during)
        client = KnackClient(server.base_url, app.app_id, server.api_key, limiter=RateLimiter(None),
                             budget=RequestBudget(app.app_id, None))
        meta = parse_metadata(app.metadata(), app.app_id)
        plan = ScanPlan(object_key=OBJECT, object_name="Things", table_name="things",
                        modified=meta.objects[0].field("field_2"), mode="incremental", cursor_before=cursor,
                        after=None, filter_value=None, note=None)
        written: list[pa.Table] = []
        sweep = ObjectSweep(plan, client, connection, app.zone, datetime.now(UTC), cursor, written.append,
                            confirm_by_id_max=confirm_by_id_max, rows_per_page=20)
        stats = sweep.run()
        for rows in written:
            apply(connection, rows)
        retired = ids(connection, "_deleted_at is not null")
        assert not retired & set(app.tables[OBJECT].rows), f"retired records Knack has ({stats})"
        assert retired <= set(app.deleted[OBJECT])
        if during is None:
            assert ids(connection, "_deleted_at is null") & deleted_before == set(), f"a deletion was missed ({stats})"
    finally:
        server.stop()
        connection.close()
