"""A pooler in transaction mode (Supabase's port 6543, PgBouncer pool_mode=transaction) hands each statement of
one connection to any server session, so the run's advisory lock would guard nothing. Where it shows (the server
process answering changes between two statements, or a second connection gets the first one's), the run refuses
with exit 2 instead of running unlocked.
A fake connection plays the pooler; where pgbouncer is installed, a real one is tested too."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
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
    opened: list[PooledConnection] = []

    def connect(url: str, autocommit: bool = False) -> PooledConnection:
        opened.append(PooledConnection(_pool(4101 + len(opened))))  # each connection its own server process
        return opened[-1]

    monkeypatch.setattr(lock, "connect", connect)
    ran = False
    with lock.run_lock("postgresql://x@direct/db"):
        ran = True
    assert ran and all(connection.closed for connection in opened)


def test_the_run_lock_refuses_a_pool_that_reuses_its_last_session(monkeypatch: pytest.MonkeyPatch) -> None:
    server = _pool(4101)
    monkeypatch.setattr(lock, "connect", lambda url, autocommit=False: PooledConnection(server))
    ran = False
    with pytest.raises(lock.SessionNotKept, match="two open database connections"), \
            lock.run_lock("postgresql://x@pooler/db"):
        ran = True
    assert not ran


def test_knackhouse_run_through_a_transaction_pooler_exits_2_in_one_line(
        pooled: list[Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    for name, value in {"KNACKHOUSE_DATABASE_URL": "postgresql://kh:secret@pooler.example.com:6543/postgres",
                        "KNACK_APP_ID": "app", "KNACK_API_KEY": "key", "KNACKHOUSE_HOME": str(tmp_path / "home"),
                        "PREFECT_LOGGING_LEVEL": "WARNING"}.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pooler in transaction mode" in err[0] and "docs/operations.md" in err[0]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def pgbouncer(plain_server: Any) -> Iterator[int]:
    """A real PgBouncer in front of the plain test server: database `tx` pools in transaction mode, `sess` in
    session mode. Skipped where pgbouncer is not installed (the fake connections above cover the logic)."""
    if shutil.which("pgbouncer") is None:
        pytest.skip("pgbouncer is not installed (Debian/Ubuntu: apt-get install pgbouncer; .ci/run tries that)")
    folder = Path(tempfile.mkdtemp(prefix="knackhouse-pgbouncer-"))  # pytest's own folders: root's only
    port = _free_port()
    server = f"host={plain_server.socket_dir} port={plain_server.port} dbname=postgres user=postgres"
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(f"""[databases]
tx = {server} pool_mode=transaction
sess = {server} pool_mode=session
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
ignore_startup_parameters = extra_float_digits,options
""")
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        for path in (folder, *folder.iterdir()):
            shutil.chown(path, "postgres")
    command = ["pgbouncer", str(folder / "pgbouncer.ini")]
    process = subprocess.Popen(["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"pgbouncer did not start: {process.stderr.read().decode()[-2000:]}")
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_real_pgbouncer_in_session_mode_holds_the_run_lock_for_one_run_at_a_time(pgbouncer: int) -> None:
    url = f"postgresql://postgres@127.0.0.1:{pgbouncer}/sess"
    lock.check_session(url)
    with lock.run_lock(url), pytest.raises(lock.RunLocked, match="another knackhouse run holds the run lock"), \
            lock.run_lock(url):
        pass
    with lock.run_lock(url):  # released with its session's connection
        pass


def test_a_real_pgbouncer_in_transaction_mode_is_refused_before_locking(pgbouncer: int) -> None:
    url = f"postgresql://postgres@127.0.0.1:{pgbouncer}/tx"
    with pytest.raises(lock.SessionNotKept, match="transaction mode"):
        lock.check_session(url)
    ran = False
    with pytest.raises(lock.SessionNotKept, match="transaction mode"), lock.run_lock(url):
        ran = True
    assert not ran


def test_knackhouse_run_through_a_real_transaction_pgbouncer_exits_2_in_one_line(pgbouncer: int,
                                                                                  tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KNACK"))}
    env.update(KNACKHOUSE_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{pgbouncer}/tx", KNACK_APP_ID="app",
               KNACK_API_KEY="key", KNACKHOUSE_HOME=str(tmp_path / "home"))
    done = subprocess.run([sys.executable, "-m", "knackhouse.cli", "run"], env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "pooler in transaction mode" in lines[0] and "docs/operations.md" in lines[0]
