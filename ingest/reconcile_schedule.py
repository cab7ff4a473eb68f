"""When the daily run is a complete reconcile scan: every `Settings.reconcile_every_days`, within today's budget.

The daily sweep (ingest/sweep.py) finds deletions by counts; a complete reconcile scan, which reads every
record, is the check that needs no premise about the modified field. It is due when some object has had no
complete reconcile for `reconcile_every_days` days: the last one is the newest `audit.object_loads` row of the
object with `mode = 'reconcile'` and `reconcile_status = 'complete'`, or, before any, its first load (which
read every record). A due reconcile runs only when its estimated requests (every object's pages from raw's
live rows, the scan's end counts, the metadata call) fit in what is left of today's request budget; else the
run stays incremental and says the reconcile moved to the next day. A reconcile that starts is never left
half done: each object's scan retires only when complete, and an object whose scan was not complete stays
due, so the next run reconciles again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg2 import sql

from ingest import audit, raw
from ingest.settings import AUDIT_SCHEMA, DATASET_NAME, ROWS_PER_PAGE
from knackhouse.warehouse import connect

MARGIN = 1.1   # the estimate from raw's rows, plus what changed since and the incremental reads of the day


@dataclass(frozen=True)
class ReconcileDecision:
    """Whether today's run reconciles, and why (the run report shows `reason`)."""

    run: bool
    due: bool
    reason: str
    estimated_requests: int = 0


def plan_reconcile(database_url: str, now: datetime, every_days: int, budget: int) -> ReconcileDecision:
    """Decide whether the run starting at `now` is a complete reconcile scan (see the module docstring)."""
    if every_days <= 0:
        return ReconcileDecision(False, False, "scheduled reconcile off (KNACKHOUSE_RECONCILE_EVERY_DAYS=0)")
    audit.ensure_table(database_url)
    connection = connect(database_url, autocommit=True)
    try:
        if not raw.table_exists(connection, "_knack_objects"):
            return ReconcileDecision(False, False, "no reconcile before the first load")
        with connection.cursor() as cursor:
            cursor.execute(f"select object_key, table_name from {DATASET_NAME}._knack_objects where table_name"
                           " is not null")
            tables = dict(cursor.fetchall())
            cursor.execute(
                f"select object_key, max(started_at) filter (where mode = 'reconcile'"
                f" and reconcile_status = 'complete'), min(started_at) from {AUDIT_SCHEMA}.object_loads"
                " where not dry_run and status = 'ok' group by object_key")
            history = {key: (last, first) for key, last, first in cursor.fetchall()}
            pages = 0
            for table in tables.values():
                if raw.table_exists(connection, table):
                    cursor.execute(sql.SQL("select count(*) from {} where _deleted_at is null").format(
                        sql.Identifier(DATASET_NAME, table)))
                    pages += max(math.ceil(cursor.fetchone()[0] / ROWS_PER_PAGE), 1) + 1
    finally:
        connection.close()
    since = {key: history[key][0] or history[key][1] for key in tables if key in history}
    if not since:
        return ReconcileDecision(False, False, "no reconcile before the first load")
    oldest_key = min(since, key=lambda k: since[k])
    age = now - since[oldest_key]
    if age < timedelta(days=every_days):
        return ReconcileDecision(False, False, f"next scheduled reconcile in {_days(timedelta(days=every_days) - age)}")
    what = "last complete reconcile" if history[oldest_key][0] else "first load, no complete reconcile since"
    due = f"reconcile due every {every_days} days ({oldest_key}: {what} {_days(age)} ago)"
    estimate = math.ceil((pages + 1) * MARGIN)
    left = budget - audit.requests_today(database_url, now)
    if estimate > left:
        return ReconcileDecision(False, True, f"{due}, but it needs about {estimate} requests and {left} of today's "
                                              f"budget of {budget} are left: moved to the next day", estimate)
    return ReconcileDecision(True, True, f"{due}: this run is a complete reconcile scan (about {estimate} "
                                         "requests)", estimate)


def _days(span: timedelta) -> str:
    days = span.total_seconds() / 86400
    return f"{days:.1f} days"


__all__ = ["ReconcileDecision", "plan_reconcile"]
