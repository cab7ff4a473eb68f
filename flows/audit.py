"""audit.runs: one row per flow run, with the same figures as the run report."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import datetime
from typing import Any

from knackhouse.warehouse import connect

DDL = """
create schema if not exists audit;
create table if not exists audit.runs (
    run_id text primary key,
    started_at timestamptz not null,
    finished_at timestamptz,
    status text not null,
    failed_task text,
    message text,
    dry_run boolean not null default false,
    api_requests integer,
    records_per_object jsonb not null default '{}'::jsonb,
    rows_per_mart jsonb not null default '{}'::jsonb,
    guard_results jsonb not null default '[]'::jsonb,
    step_seconds jsonb not null default '{}'::jsonb
);
alter table audit.runs add column if not exists report text;
alter table audit.runs add column if not exists postponed jsonb not null default '[]'::jsonb;
"""


def ensure_table(database_url: str) -> None:
    """Create audit.runs if it is not there yet."""
    with closing(connect(database_url)) as conn, conn, conn.cursor() as cur:
        cur.execute(DDL)


def record_start(database_url: str, run_id: str, started_at: datetime, *, dry_run: bool) -> None:
    """Insert the run as `running`, so a crashed run stays visible as such. Called under the run lock, so a run
    still `running` is one that ended without recording its outcome (killed): it is marked `killed`."""
    ensure_table(database_url)
    with closing(connect(database_url)) as conn, conn, conn.cursor() as cur:
        cur.execute(
            "update audit.runs set status = 'killed', message = %s where status = 'running'",
            (f"the run ended without recording an outcome (killed, or its host lost); found by run {run_id}",),
        )
        cur.execute(
            "insert into audit.runs (run_id, started_at, status, dry_run) values (%s, %s, 'running', %s)",
            (run_id, started_at, dry_run),
        )


def record_finish(database_url: str, run_id: str, finished_at: datetime, summary: dict[str, Any],
                  report: str | None = None) -> None:
    """Write the run's outcome and figures, and its report's markdown (readable wherever the run ran)."""
    with closing(connect(database_url)) as conn, conn, conn.cursor() as cur:
        cur.execute(
            """update audit.runs set finished_at = %s, status = %s, failed_task = %s, message = %s,
                   api_requests = %s, records_per_object = %s, rows_per_mart = %s,
                   guard_results = %s, step_seconds = %s, postponed = %s, report = %s
               where run_id = %s""",
            (
                finished_at,
                summary["status"],
                summary.get("failed_task"),
                summary.get("message"),
                summary.get("api_requests"),
                json.dumps(summary.get("records_per_object", {}), default=str),
                json.dumps(summary.get("rows_per_mart", {}), default=str),
                json.dumps(summary.get("guard_results", []), default=str),
                json.dumps(summary.get("step_seconds", {}), default=str),
                json.dumps(summary.get("postponed", []), default=str),
                report,
                run_id,
            ),
        )


def last_success(database_url: str) -> datetime | None:
    """When the last successful, non-dry run finished (None if never)."""
    ensure_table(database_url)
    with closing(connect(database_url)) as conn, conn, conn.cursor() as cur:
        cur.execute("select max(finished_at) from audit.runs where status = 'success' and not dry_run")
        return cur.fetchone()[0]

