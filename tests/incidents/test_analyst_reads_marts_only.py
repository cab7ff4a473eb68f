"""The read-only analyst role reads the published marts and nothing else: not what dlt loaded, not the typed
staging, not a candidate the guards have not passed, not the quarantine or the audit trail; nor does it keep
PUBLIC's default rights (temporary tables, other databases, the views' SQL in the catalog)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import closing

import pytest
from psycopg2 import errors

from knackhouse import warehouse
from knackhouse.errors import ConfigError

ANALYST = "knackhouse_analyst"
MARTS = ["dim_establishments", "dim_students", "dim_staff", "bridge_staff_students", "fct_vespa_results"]
HIDDEN = ["raw_knack.students", "staging.stg_knack__students", "intermediate.int_students_resolved",
          "marts_candidate.dim_students", "quarantine.rejected_records", "audit.runs",
          "snapshots.snap_students"]


def _select_as_analyst(pipeline, table: str) -> int:
    with closing(warehouse.connect(pipeline.database_url)) as conn, conn.cursor() as cur:
        cur.execute(f"set role {ANALYST}")
        cur.execute(f"select count(*) from {table}")
        (count,) = cur.fetchone()
        return count


@pytest.mark.parametrize("table", MARTS)
def test_the_analyst_reads_every_published_mart(ordinary_day, table):
    assert _select_as_analyst(ordinary_day, f"marts.{table}") > 0


@pytest.mark.parametrize("table", HIDDEN)
def test_the_analyst_can_read_nothing_outside_the_marts(ordinary_day, table):
    assert ordinary_day.scalar(f"select count(*) from {table}") > 0, "the table exists and holds rows"
    with pytest.raises(errors.InsufficientPrivilege):
        _select_as_analyst(ordinary_day, table)


@pytest.fixture
def analyst_login(ordinary_day) -> Iterator[str]:
    """An analyst's own login role, a member of the analyst role (as analysts' accounts are)."""
    name = f"kh_analyst_login_{uuid.uuid4().hex[:8]}"
    with closing(warehouse.connect(ordinary_day.database_url, autocommit=True)) as conn, conn.cursor() as cur:
        cur.execute(f"create role {name} login in role {ANALYST}")
        try:
            yield name
        finally:
            cur.execute(f"drop owned by {name}; drop role {name}")


def _as(pipeline, login: str, database: str | None = None) -> str:
    parts = warehouse.ConnectionParts.from_url(pipeline.database_url)
    return warehouse.ConnectionParts(parts.host, parts.port, login, "", database or parts.dbname).url()


def _refused(cur, sql: str, params: tuple = ()) -> bool:
    cur.execute("savepoint probe")
    try:
        cur.execute(sql, params)
    except errors.InsufficientPrivilege:
        cur.execute("rollback to savepoint probe")
        return True
    cur.execute("release savepoint probe")
    return False


def test_the_analyst_keeps_none_of_publics_rights(ordinary_day, analyst_login, server_url):
    view = ordinary_day.scalar("select 'staging.stg_knack__students'::regclass::oid")
    rule = ordinary_day.scalar("select objid from pg_depend where classid = 'pg_rewrite'::regclass "
                               "and refobjid = %s and deptype = 'i'", (view,))
    with closing(warehouse.connect(_as(ordinary_day, analyst_login))) as conn, conn.cursor() as cur:
        cur.execute("select count(*) from marts.dim_students")
        assert cur.fetchone()[0] > 0, "the analyst connects to the warehouse and reads the marts"
        assert _refused(cur, "create temporary table scratch (x int)")
        assert _refused(cur, "create table public.scratch (x int)")
        assert _refused(cur, "select pg_get_viewdef(%s::oid)", (view,))
        assert _refused(cur, "select pg_get_ruledef(%s::oid)", (rule,))
        assert _refused(cur, "select ev_action from pg_rewrite where ev_class = %s::oid", (view,))
        assert _refused(cur, "select definition from pg_views where schemaname = 'staging'")
    other = f"kh_other_{uuid.uuid4().hex[:8]}"
    warehouse.create_database(server_url, other)  # another database knackhouse made on the same server
    try:
        with pytest.raises(ConfigError, match="does not have CONNECT privilege"):
            warehouse.connect(_as(ordinary_day, analyst_login, other)).close()
    finally:
        warehouse.drop_database(server_url, other)
