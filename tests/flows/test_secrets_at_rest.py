"""No secret at rest, and nobody else reads KNACKHOUSE_HOME: one real `knackhouse run` (a subprocess with its own
home and its own Prefect database) whose database password and Knack API key are markers, then every byte under
the home and a dump of Prefect's database are searched for them."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from knackhouse import warehouse
from simulator import DemoApp, SimulatorServer

KNACKHOUSE = [sys.executable, "-m", "knackhouse.cli"]


@dataclass
class MarkedRun:
    home: Path
    password: str
    api_key: str
    database_url: str
    done: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def marked_run(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarkedRun]:
    """A PostgreSQL role whose password is a marker owns the warehouse; the simulator's API key is a marker."""
    tag = uuid.uuid4().hex[:10]
    role, database = f"kh_marker_{tag}", f"kh_marker_{tag}"
    password, api_key = f"pw-marker-{tag}", f"key-marker-{tag}"
    with closing(warehouse.connect(server_url, autocommit=True)) as admin, admin.cursor() as cur:
        cur.execute(f"create role {role} login createrole password %s", (password,))
        cur.execute(f'create database "{database}" owner {role}')
    parts = warehouse.ConnectionParts.from_url(server_url)
    url = warehouse.ConnectionParts(parts.host, parts.port, role, password, database).url()
    home = tmp_path_factory.mktemp("secrets") / "home"
    app = DemoApp(scale=0.01, seed=3)
    try:
        with SimulatorServer(app, api_key=api_key) as sim:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KNACK", "DLT_", "DBT_"))}
            env.update(KNACKHOUSE_HOME=str(home), KNACKHOUSE_DATABASE_URL=url, KNACK_APP_ID=sim.app_id,
                       KNACK_API_KEY=api_key, KNACK_API_URL=sim.base_url,
                       PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180")  # a loaded CI machine
            done = subprocess.run([*KNACKHOUSE, "run", "--as-of", app.today.isoformat()], env=env,
                                  capture_output=True, text=True, timeout=600)
        yield MarkedRun(home, password, api_key, url, done)
    finally:
        with closing(warehouse.connect(server_url, autocommit=True)) as admin, admin.cursor() as cur:
            cur.execute(f'drop database if exists "{database}" with (force)')
            cur.execute(f"drop owned by {role}")
            cur.execute(f"drop role if exists {role}")


def _files(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file() and not p.is_symlink()]


def test_the_marked_run_succeeded(marked_run: MarkedRun) -> None:
    assert marked_run.done.returncode == 0, marked_run.done.stdout[-3000:] + marked_run.done.stderr[-3000:]


def test_no_file_under_the_home_holds_the_database_password_or_the_api_key(marked_run: MarkedRun) -> None:
    files = _files(marked_run.home)
    assert len(files) > 20, "the run wrote its state under the home"
    leaks = [(str(p.relative_to(marked_run.home)), secret) for p in files
             for secret in (marked_run.password, marked_run.api_key) if secret.encode() in p.read_bytes()]
    assert leaks == []


def test_prefect_holds_no_secret(marked_run: MarkedRun) -> None:
    database = marked_run.home / "prefect" / "prefect.db"
    assert database.exists(), "the run used the home's own Prefect database"
    with closing(sqlite3.connect(database)) as conn:
        dump = "\n".join(conn.iterdump())
        assert conn.execute("select count(*) from flow_run").fetchone()[0] >= 1
    assert "database_url" in dump or "settings" in dump, "the flow run's parameters are in the dump"
    assert marked_run.password not in dump
    assert marked_run.api_key not in dump


def test_the_home_is_readable_by_its_owner_only(marked_run: MarkedRun) -> None:
    assert stat.S_IMODE(marked_run.home.stat().st_mode) == 0o700
    open_to_others = [f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p.relative_to(marked_run.home)}"
                      for p in marked_run.home.rglob("*")
                      if not p.is_symlink() and stat.S_IMODE(p.lstat().st_mode) & 0o077]
    assert open_to_others == []


def test_a_successful_run_keeps_no_loaded_package_of_records(marked_run: MarkedRun) -> None:
    assert list(marked_run.home.glob("dlt/pipelines/*")), "the run's dlt pipeline folder is there"
    assert list(marked_run.home.glob("dlt/pipelines/*/load/loaded/*")) == []
