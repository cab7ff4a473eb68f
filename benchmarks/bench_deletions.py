"""Deletion sweep benchmark: 0.1% of each object's records deleted per day, clustered or scattered.

For each simulated day and object it prints what the sweep (ingest/sweep.py) cost and found:
- the share of the day's deletions retired the same day (goal: 100% where the object has a modified field)
  and the records wrongly retired (must be 0);
- the sweep's requests against a complete reconcile scan's (its pages and the count that ends it);
  goal: at most 5% for clustered deletions, never more than a full scan;
- the sweep's wall time with the simulator's rate limit off, and its time at Knack's 10 requests/second.

raw is loaded straight from the simulator's records (id, modified time, live) rather than through dlt, so
scale 10 fits in minutes; the sweep itself runs unchanged against the simulator over HTTP and PostgreSQL.

    KNACKHOUSE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/bench_deletions.py --scale 1 --repeat 3
"""

from __future__ import annotations

import io
import math
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench_args import parse_bench_args, print_spread

from ingest.client import KnackClient, RateLimiter, RequestBudget
from ingest.metadata import parse_metadata
from ingest.scan import ScanPlan
from ingest.sweep import ObjectSweep
from knackhouse import warehouse
from simulator import DemoApp, SimulatorServer
from simulator.deletions import delete_clustered, delete_scattered

SHARE = 0.001


def load_raw(connection: Any, app: DemoApp) -> dict[str, datetime]:
    """One raw table per object (id, modified instant, live), as an incremental read leaves it; the cursors."""
    zone = app.zone
    cursors: dict[str, datetime] = {}
    with connection.cursor() as cursor:
        cursor.execute("create schema if not exists raw_knack")
        for key, table in app.tables.items():
            position = table.index[app.modified_fields[key]]
            cursor.execute(f"drop table if exists raw_knack.{key}; create table raw_knack.{key} (id text primary key,"
                           " record jsonb not null default '{}', _knack_created_at timestamptz,"
                           " _knack_modified_at timestamptz, _first_seen_at timestamptz default now(),"
                           " _last_seen_at timestamptz default now(), _deleted_at timestamptz)")
            buffer = io.StringIO()
            newest = None
            for record_id, row in table.rows.items():
                wall = row[position]
                instant = wall.replace(tzinfo=zone).astimezone(UTC) if wall is not None else None
                if instant is not None and (newest is None or instant > newest):
                    newest = instant
                buffer.write(f"{record_id}\t{instant.isoformat() if instant else chr(92) + 'N'}\n")
            buffer.seek(0)
            cursor.copy_expert(f"copy raw_knack.{key} (id, _knack_modified_at) from stdin", buffer)
            cursor.execute(f"create index on raw_knack.{key} (_knack_modified_at); analyze raw_knack.{key}")
            assert newest is not None
            cursors[key] = newest
    return cursors


def retire(connection: Any, key: str, ids: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"update raw_knack.{key} set _deleted_at = now() where id = any(%s)", (ids,))


def main() -> None:
    args, server = parse_bench_args(__doc__, repeat=3)
    if not server:
        return
    started = time.monotonic()
    app = DemoApp.generate(scale=args.scale, seed=args.seed)
    print(f"scale {args.scale}: " + ", ".join(f"{k} {len(t.rows):,}" for k, t in app.tables.items())
          + f" (generated in {time.monotonic() - started:.0f} s)")
    name = f"bench_deletions_{uuid.uuid4().hex[:8]}"
    admin = warehouse.connect(server, autocommit=True)
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    database_url = warehouse.with_database(server, name)
    connection = warehouse.connect(database_url, autocommit=True)
    meta = parse_metadata(app.metadata(), app.app_id)
    figures: dict[tuple[str, str], dict[str, list[float]]] = {}
    try:
        with SimulatorServer(app, seed=args.seed) as sim:
            for pattern in ("clustered", "scattered"):
                cursors = load_raw(connection, app)
                for day in range(args.repeat):
                    rng = random.Random(f"{pattern}-{day}")
                    with app.lock:
                        app.now += timedelta(days=1)
                    for key, table in app.tables.items():
                        count = max(1, round(len(table.rows) * SHARE))
                        delete = delete_clustered if pattern == "clustered" else delete_scattered
                        gone = set(delete(app, key, count, rng))
                        budget = RequestBudget(app.app_id, None)
                        client = KnackClient(sim.base_url, app.app_id, sim.api_key, limiter=RateLimiter(None),
                                             budget=budget)
                        obj = meta.object(key)
                        assert obj is not None
                        plan = ScanPlan(object_key=key, object_name=obj.name, table_name=key,
                                        modified=obj.field(app.modified_fields[key]), mode="incremental",
                                        cursor_before=cursors[key], after=None, filter_value=None, note=None)
                        clock = time.monotonic()
                        sweep = ObjectSweep(plan, client, connection, app.zone, datetime.now(UTC), cursors[key],
                                            lambda rows: None)
                        stats = sweep.run()
                        seconds = time.monotonic() - clock
                        retire(connection, key, stats.retired_ids)
                        wrong = len(set(stats.retired_ids) - gone)
                        full = math.ceil((len(table.rows) + len(gone)) / 1000)
                        full += 1 if full > 1 else 0
                        cell = figures.setdefault((pattern, key), {})
                        for metric, value in (("deleted", len(gone)), ("retired same day %", 100 * len(
                                set(stats.retired_ids) & gone) / len(gone)), ("wrongly retired", wrong),
                                ("sweep requests", stats.requests), ("full scan requests", full),
                                ("sweep / full scan %", 100 * stats.requests / full), ("sweep wall s", seconds),
                                ("sweep at 10 req/s s", stats.requests / 10)):
                            cell.setdefault(metric, []).append(value)
                        print(f"  {pattern:9} day {day + 1} {key}: {stats.method}, {stats.status} "
                              f"({stats.requests} requests, full scan {full})", flush=True)
    finally:
        connection.close()
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()
    for (pattern, key), cell in figures.items():
        print(f"{pattern} deletions, {key}:")
        for metric, values in cell.items():
            print_spread(f"  {metric}", values, unit="", fmt="{:.1f}")


if __name__ == "__main__":
    main()
