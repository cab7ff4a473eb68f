"""What must hold of a warehouse after any run, written once and checked against the simulator's ground truth.

Each check returns a list of violations (empty when it holds), each naming what is wrong, so a property test
can report every broken invariant of a step at once. The checks read the warehouse through `query(sql,
params)` and the demo app's live records (`simulator.truth`); they never read the models' own intermediate
tables, so they don't restate the code under test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from simulator.demo_schema import R_COMPLETED, R_CYCLE, R_EMAIL, R_ESTABLISHMENT, RESULTS, STAFF, STUDENTS
from simulator.knack_values import academic_year, normalise_email
from simulator.truth import Truth, year_start

Query = Callable[..., list[tuple[Any, ...]]]

# the mapped entities: quarantine's entity name, the Knack object, the mart and how it names its records
ENTITIES = {
    "students": (STUDENTS, "select unnest(knack_ids) from marts.dim_students where is_current"),
    "staff": (STAFF, "select unnest(knack_ids) from marts.dim_staff"),
    "vespa_results": (RESULTS, "select knack_id from marts.fct_vespa_results"),
}
REJECTED = ("select entity, knack_id, reason, detail, first_seen_at from quarantine.rejected_records "
            "order by 1, 2, 3")


def natural_key(*parts: Any) -> str:
    """The marts' `natural_key` macro in Python: md5 of the parts as text, nulls as '', joined by '|'."""
    return hashlib.md5("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()


def _ids(query: Query, sql: str, params: tuple[Any, ...] = ()) -> set[str]:
    return {row[0] for row in query(sql, params)}


def _show(ids: Iterable[str], limit: int = 5) -> str:
    ids = sorted(ids)
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def result_keys_of(app: Any, truth: Truth, record_ids: Iterable[str]) -> dict[str, str]:
    """The result_key the ground truth's identity rule gives each live result (email, academic year, cycle)."""
    rows = app.tables[RESULTS].rows
    keys = {}
    for rid in record_ids:
        row = rows[rid]
        email = normalise_email(row[R_EMAIL] or "")
        if email is None or row[R_COMPLETED] is None or row[R_CYCLE] is None:
            continue
        connection = row[R_ESTABLISHMENT]
        est = truth.establishments.get(connection[0]) if connection else None
        keys[rid] = natural_key(email, academic_year(row[R_COMPLETED].date(), year_start(est)), int(row[R_CYCLE]))
    return keys


def every_live_record_in_marts_or_quarantine(query: Query, app: Any, truth: Truth) -> list[str]:
    """Every live record of a mapped entity is in exactly one of its mart (through `knack_ids`) or the
    quarantine. A student-year a frozen year keeps (`is_current = false`) is history, not today's place of its
    records; a result superseded by a later version of the same result (same key, published) is in the mart
    through that version."""
    problems = []
    for entity, (object_key, in_mart_sql) in ENTITIES.items():
        live = set(truth.live_ids[object_key])
        in_mart = _ids(query, in_mart_sql) & live
        held = _ids(query, "select knack_id from quarantine.rejected_records where entity = %s", (entity,)) & live
        both = in_mart & held
        neither = live - in_mart - held
        if entity == "vespa_results" and neither:
            published = _ids(query, "select result_key from marts.fct_vespa_results")
            neither = {rid for rid, key in result_keys_of(app, truth, neither).items() if key not in published} | (
                neither - set(result_keys_of(app, truth, neither)))
        if both:
            problems.append(f"{entity}: {len(both)} live records both in the marts and quarantined: {_show(both)}")
        if neither:
            problems.append(f"{entity}: {len(neither)} live records neither in the marts nor quarantined: "
                            f"{_show(neither)}")
    return problems


def raw_tables(query: Query) -> dict[str, str]:
    return dict(query("select object_key, table_name from raw_knack._knack_objects"))


def raw_live_matches_knack(query: Query, truth: Truth, *, complete_reconcile: bool) -> list[str]:
    """Raw's live set is a superset of Knack's after any run, and equals it after a complete reconcile."""
    problems = []
    for object_key, table in raw_tables(query).items():
        raw = _ids(query, f'select id from raw_knack."{table}" where _deleted_at is null')
        knack = set(truth.live_ids.get(object_key, ()))
        if knack - raw:
            problems.append(f"raw_knack.{table} misses {len(knack - raw)} live Knack records: {_show(knack - raw)}")
        if complete_reconcile and raw - knack:
            problems.append(f"raw_knack.{table} still holds {len(raw - knack)} records Knack deleted after a "
                            f"complete reconcile: {_show(raw - knack)}")
    return problems


@dataclass(frozen=True)
class FrozenState:
    """Every frozen partition of the published fact: its recorded hash and its rows."""

    hashes: dict[str, str]
    rows: dict[str, list[str]]


def frozen_state(query: Query) -> FrozenState:
    hashes = dict(query("select academic_year, content_hash from audit.frozen_partitions")) if query(
        "select to_regclass('audit.frozen_partitions')")[0][0] else {}
    rows = {}
    for year in hashes:
        table = f"marts.fct_vespa_results__{year.replace('/', '_')}"
        if query("select to_regclass(%s)", (table,))[0][0]:
            rows[year] = sorted(map(repr, query(f"select * from {table}")))
    return FrozenState(hashes, rows)


def frozen_partitions_unchanged(query: Query, before: FrozenState, reopened: Iterable[str]) -> list[str]:
    """No frozen partition changes unless its year was reopened, and each one's recorded hash matches it."""
    problems = []
    after = frozen_state(query)
    for year, rows in before.rows.items():
        if year in reopened:
            continue
        if after.rows.get(year) != rows:
            problems.append(f"frozen partition {year} changed without --reopen-year")
        if after.hashes.get(year) != before.hashes.get(year):
            problems.append(f"the recorded hash of frozen partition {year} changed without --reopen-year")
    for year, recorded in after.hashes.items():
        table = f"marts.fct_vespa_results__{year.replace('/', '_')}"
        if year not in after.rows:
            continue
        actual = query(f"select md5(count(*) || ':' || coalesce(sum(hash_record_extended(t, 0)::numeric), 0) "
                       f"|| ':' || coalesce(sum(hash_record_extended(t, 1)::numeric), 0)) from {table} as t")[0][0]
        if actual != recorded:
            problems.append(f"frozen partition {year}: recorded hash {recorded} but its rows hash to {actual}")
    return problems


def foreign_keys_resolve(query: Query, schema: str = "marts") -> list[str]:
    """Every `*_key` column that names another mart's primary key resolves in it; none is NULL or 'None'."""
    primary = dict(query(
        "select a.attname, c.conrelid::regclass::text from pg_constraint as c "
        "join pg_attribute as a on a.attrelid = c.conrelid and a.attnum = c.conkey[1] "
        "where c.contype = 'p' and c.connamespace = %s::regnamespace and cardinality(c.conkey) = 1", (schema,)))
    columns = query("select table_name, column_name from information_schema.columns where table_schema = %s "
                    "and column_name like '%%\\_key' and table_name in (select tablename from pg_tables "
                    "where schemaname = %s union select relname from pg_class where relkind = 'p' and "
                    "relnamespace = %s::regnamespace)", (schema, schema, schema))
    problems = []
    for table, column in columns:
        parent = primary.get(column)
        if parent is None or parent == f"{schema}.{table}" or "__" in table:
            continue
        bad = query(f"select count(*) filter (where c.{column} is null or c.{column} = 'None'), "
                    f"count(*) filter (where c.{column} is not null and p.{column} is null) "
                    f"from {schema}.{table} as c left join {parent} as p using ({column})")[0]
        if bad[0]:
            problems.append(f"{schema}.{table}.{column}: {bad[0]} NULL or 'None' parents")
        if bad[1]:
            problems.append(f"{schema}.{table}.{column}: {bad[1]} keys missing from {parent}")
    return problems


def snapshot(query: Query, schema: str) -> dict[str, list[str]]:
    """Every base table of a schema, rows rendered and sorted (partitions through their parent)."""
    tables = [r[0] for r in query(
        "select c.relname from pg_class as c where c.relnamespace = %s::regnamespace and c.relkind in ('r', 'p') "
        "and not c.relispartition order by 1", (schema,))] if query(
        "select 1 from pg_namespace where nspname = %s", (schema,)) else []
    return {t: sorted(map(repr, query(f'select * from "{schema}"."{t}"'))) for t in tables}


def build_state(query: Query) -> dict[str, Any]:
    """What a daily build and a full refresh of the same data must agree on: the candidate marts and the
    quarantine (less the seen dates' last, which a full refresh's re-read moves)."""
    return {"marts_candidate": snapshot(query, "marts_candidate"), "quarantine": query(REJECTED)}


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Names of the tables (or parts) that differ between two snapshots, with a count of rows each way."""
    problems = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if isinstance(old, dict) or isinstance(new, dict):
            problems += [f"{name}.{p}" for p in differences(old or {}, new or {})]
        elif old != new:
            gone = len(set(map(repr, old or [])) - set(map(repr, new or [])))
            added = len(set(map(repr, new or [])) - set(map(repr, old or [])))
            problems.append(f"{name} (-{gone} +{added} rows)")
    return problems


def audit_runs(query: Query) -> list[tuple[str, str]]:
    if not query("select to_regclass('audit.runs')")[0][0]:
        return []
    return query("select run_id, status from audit.runs order by started_at, run_id")


def one_audit_row_per_run(query: Query, statuses: list[str]) -> list[str]:
    """Exactly one audit.runs row per run that writes (a dry run writes nothing), each with its true status:
    `statuses` lists what each run really did, in order ('success', 'failed', 'killed')."""
    rows = [status for _, status in audit_runs(query)]
    if rows != statuses:
        return [f"audit.runs holds statuses {rows}, the runs were {statuses}"]
    return []
