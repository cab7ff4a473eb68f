"""One run at a time: a PostgreSQL advisory lock held on a dedicated connection for the whole run.

PostgreSQL releases a session's advisory locks when its connection ends, so a crashed (even
kill -9) run never leaves the lock behind. A frozen one (SIGSTOP, a hung connection) does: so the
holder names itself in its session's `application_name` (pid and host) when it takes the lock, and
a run refused the lock reads who holds it, since when (the holder's last statement was the one that
took the lock), and whether that is longer than the stale limit. A pooler in transaction mode hands each
transaction of one connection to any server session, so a lock taken through it guards nothing: the lock
refuses such a connection when it can tell (the server process answering changes between statements).
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
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


APPLICATION_NAME = "knackhouse run pid={pid} host={host}"
_NAMED = re.compile(r"^knackhouse run pid=(\d+) host=(.*)$")
NAMEDATALEN = 63  # PostgreSQL cuts an application_name to 63 bytes

# the holder of the lock: the session holding the advisory lock of `key` in this database
HOLDER_SQL = """
select a.application_name, a.pid, host(a.client_addr), a.query_start, now() - a.query_start
from pg_locks l join pg_stat_activity a on a.pid = l.pid
where l.locktype = 'advisory' and l.granted and l.objsubid = 1
  and l.database = (select oid from pg_database where datname = current_database())
  and l.classid = %s and l.objid = %s
"""


@dataclass(frozen=True)
class LockHolder:
    """Who holds the run lock: the knackhouse process (pid, host) when it named itself, and its session."""

    pid: int | None
    host: str | None
    started_at: datetime | None
    held_for: timedelta | None
    backend_pid: int
    client_addr: str | None

    def describe(self) -> str:
        who = (f"pid {self.pid} on host {self.host}" if self.pid is not None
               else f"an unnamed session (PostgreSQL backend {self.backend_pid}, client {self.client_addr or 'local'})")
        if self.started_at is None or self.held_for is None:
            return who
        return f"{who}, since {self.started_at:%Y-%m-%d %H:%M:%S %Z} (held {_duration(self.held_for)})"

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["started_at"] = self.started_at.isoformat() if self.started_at else None
        values["held_seconds"] = round(self.held_for.total_seconds(), 1) if self.held_for else None
        del values["held_for"]
        return values


class RunLocked(ConfigError):
    """Another run holds the lock and did not finish within the wait."""

    def __init__(self, message: str, holder: LockHolder | None = None, stale: bool = False) -> None:
        super().__init__(message)
        self.holder = holder
        self.stale = stale


def _duration(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _key_parts(key: int) -> tuple[int, int]:
    """pg_locks spells a bigint advisory key as classid (high 32 bits) and objid (low 32 bits)."""
    return (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF


def lock_holder(cursor: Any, key: int = LOCK_KEY) -> LockHolder | None:
    """The session holding the run lock in this database (None when nobody holds it or it is not visible)."""
    cursor.execute(HOLDER_SQL, _key_parts(key))
    row = cursor.fetchone()
    if row is None:
        return None
    name, backend_pid, client_addr, started_at, held_for = row
    named = _NAMED.match(name or "")
    return LockHolder(pid=int(named.group(1)) if named else None, host=named.group(2) if named else None,
                      started_at=started_at, held_for=held_for, backend_pid=backend_pid, client_addr=client_addr)


def _refusal(cursor: Any, key: int, wait_seconds: float, stale_after: timedelta | None) -> RunLocked:
    holder = lock_holder(cursor, key)
    stale = bool(holder and holder.held_for is not None and stale_after is not None and holder.held_for > stale_after)
    who = holder.describe() if holder else "a session this role cannot see"
    message = f"another knackhouse run holds the run lock: {who} (waited {wait_seconds:.0f} s)"
    if stale and holder is not None and stale_after is not None:
        message += (f". The lock is STALE: held longer than {_duration(stale_after)} "
                    "(KNACKHOUSE_LOCK_STALE_HOURS), so that run is probably frozen (stopped, or hung on a connection): "
                    f"end it, or its session (`select pg_terminate_backend({holder.backend_pid})`), to free the lock")
    return RunLocked(message + "; nothing was changed — try again when it has finished", holder, stale)


@contextmanager
def run_lock(database_url: str, *, wait_seconds: float = 0.0, key: int = LOCK_KEY,
             stale_after: timedelta | None = None) -> Iterator[None]:
    """Hold the run lock for the body; wait up to wait_seconds for another run, then refuse (RunLocked names
    the holder, and says it is stale when it has held the lock longer than `stale_after`)."""
    name = APPLICATION_NAME.format(pid=os.getpid(), host=socket.gethostname()).encode()[:NAMEDATALEN]
    with closing(connect(database_url)) as conn:
        conn.autocommit = True
        deadline = time.monotonic() + max(wait_seconds, 0.0)
        assert_session_kept(conn, database_url)  # before locking: a pooled session would keep the lock
        with conn.cursor() as cur:
            while True:
                # naming the session in the statement that takes the lock: its query_start is then the lock's age
                cur.execute("select case when pg_try_advisory_lock(%s) "
                            "then set_config('application_name', %s, false) is not null else false end, "
                            "pg_backend_pid()", (key, name.decode(errors="ignore")))
                locked, pid = cur.fetchone()
                if locked:
                    assert_one_session(cur, pid)
                    break
                if time.monotonic() >= deadline:
                    raise _refusal(cur, key, wait_seconds, stale_after)
                time.sleep(POLL_SECONDS)
        yield
