"""A pooler in transaction mode (Supabase's port 6543, PgBouncer pool_mode=transaction) hands each statement of
one connection to any server session, so the run's advisory lock would guard nothing. Where it shows (the server
process answering changes between two statements), the run refuses with exit 2 instead of running unlocked.
No pooler is installed here: a fake connection plays one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from flows import lock
from knackhouse import cli


class PooledCursor:
    """Answers `pg_backend_pid()` from the next server process of the pool, and takes any lock."""

    def __init__(self, pids: Iterator[int]) -> None:
        self.pids = pids
        self.row: tuple = ()

    def execute(self, sql: str, params: tuple = ()) -> None:
        pid = next(self.pids)
        self.row = (True, pid) if "pg_try_advisory_lock" in sql else (pid,)

    def fetchone(self) -> tuple:
        return self.row

    def __enter__(self) -> PooledCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class PooledConnection:
    def __init__(self, pids: Iterator[int]) -> None:
        self.cursor_ = PooledCursor(pids)
        self.autocommit = False
        self.closed = False

    def cursor(self) -> PooledCursor:
        return self.cursor_

    def close(self) -> None:
        self.closed = True


def _pool(*pids: int) -> Iterator[int]:
    """Server processes taking turns, as a transaction-mode pool of len(pids) sessions may hand them out."""
    while True:
        yield from pids


@pytest.fixture
def pooled(monkeypatch: pytest.MonkeyPatch) -> list[PooledConnection]:
    opened: list[PooledConnection] = []

    def connect(url: str, autocommit: bool = False) -> PooledConnection:
        opened.append(PooledConnection(_pool(4101, 4102)))
        return opened[-1]

    monkeypatch.setattr(lock, "connect", connect)
    return opened


def test_the_run_lock_refuses_a_connection_whose_server_process_changes(pooled: list[Any]) -> None:
    ran = False
    with pytest.raises(lock.SessionNotKept, match="transaction mode"), lock.run_lock("postgresql://x@pooler/db"):
        ran = True
    assert not ran and pooled[0].closed


def test_the_run_lock_takes_a_connection_that_keeps_its_session(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = PooledConnection(_pool(4101))
    monkeypatch.setattr(lock, "connect", lambda url, autocommit=False: connection)
    with lock.run_lock("postgresql://x@pooler/db"):
        pass
    assert connection.closed


def test_knackhouse_run_through_a_transaction_pooler_exits_2_in_one_line(
        pooled: list[Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    for name, value in {"KNACKHOUSE_DATABASE_URL": "postgresql://kh:secret@pooler.example.com:6543/postgres",
                        "KNACK_APP_ID": "app", "KNACK_API_KEY": "key", "KNACKHOUSE_HOME": str(tmp_path / "home"),
                        "PREFECT_LOGGING_LEVEL": "WARNING"}.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pooler in transaction mode" in err[0] and "docs/operations.md" in err[0]
