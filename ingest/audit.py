"""`audit.object_loads`: one row per object per ingest run (requests, records, changes, reconcile status)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from ingest.settings import AUDIT_SCHEMA
from knackhouse.warehouse import connect

DDL = f"""
create schema if not exists {AUDIT_SCHEMA};
create table if not exists {AUDIT_SCHEMA}.object_loads (
    run_id text not null,
    object_key text not null,
    table_name text not null,
    mode text not null,
    status text not null,
    dry_run boolean not null default false,
    requests integer not null,
    pages integer not null,
    records integer not null,
    inserted integer not null,
    updated integer not null,
    retired integer not null,
    unretired integer not null,
    total_records integer,
    full_scan boolean not null,
    modified_field text,
    reconcile_status text,
    note text,
    cursor_before timestamptz,
    cursor_after timestamptz,
    metadata_requests integer not null default 0,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    primary key (run_id, object_key)
);
alter table {AUDIT_SCHEMA}.object_loads add column if not exists sweep_status text;
alter table {AUDIT_SCHEMA}.object_loads add column if not exists sweep_requests integer not null default 0;
alter table {AUDIT_SCHEMA}.object_loads add column if not exists sweep_retired integer not null default 0;
"""
COLUMNS = ("run_id", "object_key", "table_name", "mode", "status", "dry_run", "requests", "pages", "records",
           "inserted", "updated", "retired", "unretired", "total_records", "full_scan", "modified_field",
           "reconcile_status", "note", "cursor_before", "cursor_after", "metadata_requests", "started_at",
           "finished_at", "sweep_status", "sweep_requests", "sweep_retired")


def ensure_table(database_url: str) -> None:
    connection = connect(database_url, autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select pg_advisory_lock(hashtext('knackhouse.audit.object_loads'))")
            try:
                cursor.execute(DDL)
            finally:
                cursor.execute("select pg_advisory_unlock(hashtext('knackhouse.audit.object_loads'))")
    finally:
        connection.close()


def requests_today(database_url: str, now: datetime | None = None) -> int:
    """Knack requests recorded since midnight UTC (objects' pages plus each run's metadata call)."""
    midnight = (now or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
    connection = connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"select coalesce(sum(requests + metadata_requests), 0) from {AUDIT_SCHEMA}.object_loads"
                " where started_at >= %s and started_at < %s",
                (midnight, midnight + timedelta(days=1)),
            )
            return int(cursor.fetchone()[0])
    finally:
        connection.close()


def record(database_url: str, rows: Iterable[dict[str, Any]]) -> None:
    """Insert this run's rows (a rerun of the same run id replaces them)."""
    rows = list(rows)
    if not rows:
        return
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in ("run_id", "object_key"))
    connection = connect(database_url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.executemany(
                f"insert into {AUDIT_SCHEMA}.object_loads ({', '.join(COLUMNS)}) values ({placeholders})"
                f" on conflict (run_id, object_key) do update set {updates}",
                [tuple(row[c] for c in COLUMNS) for row in rows],
            )
    finally:
        connection.close()
