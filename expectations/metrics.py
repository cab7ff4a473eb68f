"""Per-run table metrics, measured in the warehouse and kept in `audit.table_metrics`.

Every run records, keyed by its as-of day: per Knack object the live rows in raw and staging, the
records Knack reported, the records created and modified on the day before the as-of day (from the
ids' creation times and the modified field, in the app's time zone); per mart its rows; per entity
the records accounted for by its mart and by quarantine, the orphan and duplicate shares; rows in
quarantine per entity. The queries on raw use indexes on the two timestamps (created here if missing),
so a day's counts never scan the whole table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from knackhouse.app_config import AppConfig
from knackhouse.dbt import read_metadata
from knackhouse.staging_sql import KnackObject
from knackhouse.warehouse import relation_exists, tables_in

MARTS_CANDIDATE = "marts_candidate"
ENTITY_MARTS = {"students": "dim_students", "staff": "dim_staff"}

DDL = """
create schema if not exists audit;
create table if not exists audit.table_metrics (
    run_id text not null,
    as_of date not null,
    table_name text not null,
    metric text not null,
    value double precision not null,
    recorded_at timestamptz not null default now(),
    primary key (run_id, table_name, metric)
);
create index if not exists table_metrics_history on audit.table_metrics (table_name, metric, as_of);
create table if not exists audit.guard_runs (
    run_id text primary key,
    as_of date not null,
    passed boolean not null,
    recorded_at timestamptz not null default now()
);
"""


@dataclass(frozen=True)
class Metric:
    table_name: str
    metric: str
    value: float


def counted_day(as_of: date) -> date:
    """The day a run's `created` and `modified` counts are about: the whole day before its as-of day."""
    return date.fromordinal(as_of.toordinal() - 1)


def _index_name(table: str, column: str) -> str:
    return "ix_" + hashlib.md5(f"{table}.{column}".encode()).hexdigest()[:12]


def _one(cur: Any, sql: str, params: tuple[Any, ...] = ()) -> float:
    cur.execute(sql, params)
    value = cur.fetchone()[0]
    return float(value or 0)


def _raw_metrics(cur: Any, obj: KnackObject, day: date, zone: str) -> list[Metric]:
    table = f'raw_knack."{obj.table}"'
    for column in ("_knack_created_at", "_knack_modified_at"):
        cur.execute(f'create index if not exists "{_index_name(obj.table, column)}" on {table} ({column})')
    name = f"raw_knack.{obj.table}"
    window = ("(%s::date::timestamp at time zone %s)", "((%s::date + 1)::timestamp at time zone %s)")
    metrics = [Metric(name, "rows", _one(cur, f"select count(*) from {table} where _deleted_at is null"))]
    for metric, column in (("created", "_knack_created_at"), ("modified", "_knack_modified_at")):
        value = _one(cur, f"select count(*) from {table} where _deleted_at is null and {column} >= {window[0]} "
                          f"and {column} < {window[1]}", (day, zone, day, zone))
        metrics.append(Metric(name, metric, value))
    staging = f'staging."stg_knack__{obj.table}"'
    if relation_exists(cur, staging):
        metrics.append(Metric(f"staging.stg_knack__{obj.table}", "rows",
                              _one(cur, f"select count(*) from {staging} where not is_deleted")))
    return metrics


def _entity_metrics(cur: Any, mapping: AppConfig, objects: dict[str, KnackObject]) -> list[Metric]:
    metrics: list[Metric] = []
    quarantine = relation_exists(cur, "quarantine.rejected_records")
    for entity, spec in mapping.entities.items():
        obj = objects.get(spec.object_key)
        staging = f'staging."stg_knack__{obj.table}"' if obj else None
        if obj is None or not relation_exists(cur, staging):
            continue
        name = f"entity.{entity}"
        establishment = next((f for f in obj.fields if f.key == spec.fields.get("establishment")), None)
        if entity == "students" and establishment is not None:
            ids = establishment.column("ids")
            metrics.append(Metric(name, "orphan_share", _one(
                cur, f'select avg((coalesce(cardinality("{ids}"), 0) = 0)::int) from {staging} where not is_deleted')))
        mart = ENTITY_MARTS.get(entity)
        if mart is None or not relation_exists(cur, f"{MARTS_CANDIDATE}.{mart}"):
            continue
        live = _one(cur, f"select count(*) from {staging} where not is_deleted")
        metrics.append(Metric(name, "source_records", live))
        metrics.append(Metric(name, "records_in_mart", _one(
            cur, f"select count(distinct k) from {MARTS_CANDIDATE}.{mart}, unnest(knack_ids) as k "
                 f"where k in (select knack_id from {staging} where not is_deleted)")))
        quarantined = 0.0
        if quarantine:
            # except, not "not in (subquery)": an anti-join PostgreSQL hashes whatever the mart's size
            quarantined = _one(cur, "select count(*) from (select q.knack_id from quarantine.rejected_records q "
                                    f"join {staging} s on s.knack_id = q.knack_id and not s.is_deleted "
                                    "where q.entity = %s except "
                                    f"select k from {MARTS_CANDIDATE}.{mart}, unnest(knack_ids) as k) as held",
                               (entity,))
        metrics.append(Metric(name, "records_quarantined", quarantined))
        metrics.append(Metric(name, "duplicate_share", _one(
            cur, f"select 1 - count(*)::float / nullif(sum(cardinality(knack_ids)), 0) from {MARTS_CANDIDATE}.{mart}")))
    if quarantine:
        cur.execute("select entity, count(*) from quarantine.rejected_records group by 1")
        metrics += [Metric(f"quarantine.{entity}", "rows", float(n)) for entity, n in cur.fetchall()]
    return metrics


def _mart_metrics(cur: Any) -> list[Metric]:
    tables = [t for t in tables_in(cur, MARTS_CANDIDATE) if "__" not in t]  # not a build's `__build` table
    return [Metric(f"{MARTS_CANDIDATE}.{t}", "rows", _one(cur, f'select count(*) from {MARTS_CANDIDATE}."{t}"'))
            for t in tables]


def _knack_metrics(ingest_result: Any) -> list[Metric]:
    """Knack's own count of each object, where this run read the whole object (an incremental scan's
    total_records counts only the changed records, so it says nothing about the object's size)."""
    metrics = []
    for load in getattr(ingest_result, "objects", None) or []:
        if load.total_records is None or not load.full_scan:
            continue
        name = f"raw_knack.{load.table_name}"
        metrics.append(Metric(name, "knack_total", float(load.total_records)))
        metrics.append(Metric(name, "scan_complete", 1.0 if load.reconcile_status == "complete" else 0.0))
    return metrics


def collect(conn: Any, *, run_id: str, as_of: date, mapping: AppConfig, database_url: str,
            ingest_result: Any = None) -> list[Metric]:
    """Measure this run's metrics and store them in audit.table_metrics (replacing a rerun's)."""
    objects = {o.key: o for o in read_metadata(database_url)}
    with conn.cursor() as cur:
        cur.execute(DDL)
        cur.execute("select coalesce(max(timezone_iana), 'UTC') from raw_knack._knack_app")
        zone = cur.fetchone()[0]
        day = counted_day(as_of)
        metrics: list[Metric] = []
        for obj in objects.values():
            metrics += _raw_metrics(cur, obj, day, zone)
        metrics += _knack_metrics(ingest_result)
        metrics += _mart_metrics(cur)
        if mapping.has_entities:
            metrics += _entity_metrics(cur, mapping, objects)
        store(cur, run_id, as_of, metrics)
    conn.commit()
    return metrics


def store(cur: Any, run_id: str, as_of: date, metrics: Iterable[Metric]) -> None:
    cur.execute("delete from audit.table_metrics where run_id = %s", (run_id,))
    cur.executemany("insert into audit.table_metrics (run_id, as_of, table_name, metric, value) "
                    "values (%s, %s, %s, %s, %s)", [(run_id, as_of, m.table_name, m.metric, m.value) for m in metrics])


def history(conn: Any, table_name: str, metric: str, before: date, limit: int) -> list[tuple[date, float]]:
    """The metric's value per earlier as-of day (the latest passing run of each day), newest last.

    Runs whose guards failed are left out: after an anomaly, tomorrow is compared with the last good day,
    so a multiplied table keeps failing until the data is fixed (or the check is set to warn for a run).
    """
    with conn.cursor() as cur:
        cur.execute(
            "select as_of, value from (select distinct on (m.as_of) m.as_of, m.value from audit.table_metrics m "
            "join audit.guard_runs g on g.run_id = m.run_id and g.passed "
            "where m.table_name = %s and m.metric = %s and m.as_of < %s order by m.as_of, m.recorded_at desc) d "
            "order by as_of desc limit %s", (table_name, metric, before, limit))
        rows = cur.fetchall()
    return [(d, float(v)) for d, v in reversed(rows)]
