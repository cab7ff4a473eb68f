"""The SQL docs/operations.md gives an administrator under "## The analyst role and PUBLIC", run as it is written
there (as a superuser, on a server the test starts): afterwards a login without grants can neither connect to the
other database nor read a view's SQL in the warehouse database. (The block under "### The role knackhouse runs
as" is run by test_tls_postgres.py.)"""

from __future__ import annotations

import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from psycopg2 import errors

from knackhouse import warehouse
from knackhouse.errors import ConfigError

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
LOGIN_PASSWORD = "an@lyst pw"


def _public_revokes_sql(other_database: str) -> str:
    """The block as the runbook gives it, its example database (`postgres`) replaced by the test's own."""
    text = OPERATIONS.read_text()
    block = text[text.index("## The analyst role and PUBLIC"):]
    start = block.index("```sql\n") + len("```sql\n")
    return block[start:block.index("```\n", start)].replace("database postgres", f"database {other_database}")


@pytest.fixture
def hardened(plain_server: Any) -> Any:
    """A warehouse database with a view, another database, the runbook's SQL run, and a plain login."""
    suffix = uuid.uuid4().hex[:8]
    warehouse_db, other, login = f"kh_wh_{suffix}", f"kh_other_{suffix}", f"kh_login_{suffix}"
    plain_server.execute(f"create database {warehouse_db}")
    plain_server.execute(f"create database {other}")
    try:
        plain_server.execute("create view some_view as select 1 as x", dbname=warehouse_db)
        plain_server.execute(_public_revokes_sql(other), dbname=warehouse_db)
        plain_server.execute(f"create role {login} login password '{LOGIN_PASSWORD}'")
        yield plain_server, warehouse_db, other, login
    finally:
        plain_server.execute(f"drop database if exists {warehouse_db} with (force)")
        plain_server.execute(f"drop database if exists {other} with (force)")
        plain_server.execute(f"drop role if exists {login}")


def test_after_the_runbooks_revokes_a_login_cannot_connect_to_the_other_database(hardened: Any) -> None:
    server, _, other, login = hardened
    with pytest.raises(ConfigError, match="does not have CONNECT privilege"):
        warehouse.connect(server.url(other, user=login, password=LOGIN_PASSWORD)).close()


def test_after_the_runbooks_revokes_a_login_cannot_read_a_views_sql(hardened: Any) -> None:
    server, warehouse_db, _, login = hardened
    with closing(warehouse.connect(server.url(warehouse_db, user=login, password=LOGIN_PASSWORD),
                                   autocommit=True)) as conn, conn.cursor() as cur:
        for sql in ("select pg_get_viewdef('some_view'::regclass)", "select ev_action from pg_catalog.pg_rewrite"):
            with pytest.raises(errors.InsufficientPrivilege):
                cur.execute(sql)
