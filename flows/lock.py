"""One run at a time: a PostgreSQL advisory lock held on a dedicated connection for the whole run.

PostgreSQL releases a session's advisory locks when its connection ends, so a crashed (even
kill -9) run never leaves the lock behind. A pooler in transaction mode hands each transaction of one
connection to any server session, so a lock taken through it guards nothing: the lock refuses such a
connection when it can tell (the server process answering changes between statements).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from knackhouse.errors import ConfigError
from knackhouse.warehouse import connect

LOCK_KEY = 0x6B6E6163  # "knac": the one key every daily-sync run takes
POLL_SECONDS = 0.5
SESSION_CHECKS = 3  # statements after the lock that must be answered by the session holding it


class SessionNotKept(ConfigError):
    """The connection does not keep one server session (a pooler in transaction mode)."""


POOLED = ("a connection pooler in transaction mode (Supabase's port 6543, PgBouncer pool_mode=transaction) "
          "cannot hold the run lock; connect directly or through a session-mode pooler (Supabase: port 5432) — "
          "see docs/operations.md")


def assert_one_session(cursor: Any, pid: int) -> None:
    """Refuse a connection whose statements are answered by server processes other than `pid`."""
    for _ in range(SESSION_CHECKS):
        cursor.execute("select pg_backend_pid()")
        answered = cursor.fetchone()[0]
        if answered != pid:
            raise SessionNotKept(f"the database connection does not keep its session (server process {pid}, "
                                 f"then {answered}): {POOLED}")


def assert_session_kept(conn: Any, database_url: str) -> int:
    """Check a connection keeps one server session of its own and return its server process: its statements
    all answered by one process (a pool handing out sessions in turn fails this), and a second connection open
    beside it answered by another (a pool reusing its last-used session, PgBouncer's default, fails this)."""
    with conn.cursor() as cur:
        cur.execute("select pg_backend_pid()")
        pid = cur.fetchone()[0]
        assert_one_session(cur, pid)
    second = connect(database_url, autocommit=True)
    try:
        with second.cursor() as cur:
            cur.execute("select pg_backend_pid()")
            other = cur.fetchone()[0]
    finally:
        second.close()
    if other == pid:
        raise SessionNotKept(f"two open database connections were answered by one server process ({pid}): "
                             f"{POOLED}")
    return pid


def check_session(database_url: str) -> None:
    """Before a run starts: the database answers, and a connection to it keeps its own session."""
    conn = connect(database_url, autocommit=True)
    try:
        assert_session_kept(conn, database_url)
    finally:
        conn.close()


class RunLocked(ConfigError):
    """Another run holds the lock and did not finish within the wait."""


@contextmanager
def run_lock(database_url: str, *, wait_seconds: float = 0.0, key: int = LOCK_KEY) -> Iterator[None]:
    """Hold the run lock for the body; wait up to wait_seconds for another run, then refuse."""
    conn = connect(database_url)
    conn.autocommit = True
    try:
        deadline = time.monotonic() + max(wait_seconds, 0.0)
        assert_session_kept(conn, database_url)  # before locking: a pooled session would keep the lock
        with conn.cursor() as cur:
            while True:
                cur.execute("select pg_try_advisory_lock(%s), pg_backend_pid()", (key,))
                locked, pid = cur.fetchone()
                if locked:
                    assert_one_session(cur, pid)
                    break
                if time.monotonic() >= deadline:
                    raise RunLocked(
                        f"another knackhouse run holds the run lock (waited {wait_seconds:.0f} s); "
                        "nothing was changed — try again when it has finished"
                    )
                time.sleep(POLL_SECONDS)
        yield
    finally:
        conn.close()
