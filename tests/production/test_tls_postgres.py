"""`knackhouse run` against a PostgreSQL a team already has: TLS only, its certificate verified against the CA
the URL names, reached as a least-privileged role whose password needs URL escaping. A configuration error
(a wrong CA, a server without TLS, a wrong password) exits 2 with one line and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from simulator import DemoApp, SimulatorServer

KNACKHOUSE = [sys.executable, "-m", "knackhouse.cli"]
RUNNER = "knackhouse"  # the names of the administrator's SQL in docs/operations.md
RUNNER_PASSWORD = "r@n/n:er %+pw"
ANALYST = "knackhouse_analyst"
OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _env(home: Path, database_url: str, sim: SimulatorServer | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KNACK"))}
    env.update(KNACKHOUSE_HOME=str(home), KNACKHOUSE_DATABASE_URL=database_url,
               KNACK_APP_ID="app", KNACK_API_KEY="key")
    if sim is not None:
        env.update(KNACK_APP_ID=sim.app_id, KNACK_API_KEY=sim.api_key, KNACK_API_URL=sim.base_url)
    return env


def _run(home: Path, database_url: str, *args: str, sim: SimulatorServer | None = None,
         timeout: float = 60) -> subprocess.CompletedProcess:
    env = _env(home, database_url, sim)
    if sim is not None:  # the session's Prefect API: no ephemeral server of the run's own to start
        from prefect.settings import PREFECT_API_URL

        env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    return subprocess.run([*KNACKHOUSE, "run", *args], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def _assert_one_line_exit_2(done: subprocess.CompletedProcess, *words: str) -> str:
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_a_ca_that_did_not_sign_the_servers_certificate_exits_2_naming_tls(tls_server: Any, tmp_path: Path) -> None:
    url = tls_server.url(sslmode="verify-full", sslrootcert=str(tls_server.wrong_ca_cert))
    line = _assert_one_line_exit_2(_run(tmp_path / "home", url), "TLS", "certificate", "sslrootcert")
    assert "r@n" not in line and "%40" not in line


def test_sslmode_require_against_a_server_without_tls_exits_2_naming_tls(plain_server: Any, tmp_path: Path) -> None:
    _assert_one_line_exit_2(_run(tmp_path / "home", plain_server.url(sslmode="require")), "TLS", "SSL")


def test_a_wrong_password_exits_2_in_one_line_that_does_not_show_it(tls_server: Any, tmp_path: Path) -> None:
    url = tls_server.url(password="wr0ng-s3cret", sslmode="verify-full", sslrootcert=str(tls_server.ca_cert))
    line = _assert_one_line_exit_2(_run(tmp_path / "home", url), "password authentication failed")
    assert "wr0ng-s3cret" not in line


def _administrators_sql(database: str) -> str:
    """The SQL docs/operations.md gives an administrator to run once, for this database and password."""
    text = OPERATIONS.read_text()
    block = text[text.index("### The role knackhouse runs as"):]
    sql = block[block.index("```sql\n") + len("```sql\n"):block.index("```\n", block.index("```sql"))]
    return sql.replace("'change-me'", f"'{RUNNER_PASSWORD}'").replace("database warehouse", f"database {database}")


@pytest.fixture(scope="module")
def least_privileged_run(tls_server: Any, tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Any:
    """One `knackhouse run` of a tiny demo app over verify-full TLS, as a role that may only create schemas in
    its database (the administrator's SQL of docs/operations.md, run as it is written there)."""
    name = "kh_least_privileged"
    tls_server.execute(f'create database "{name}"')
    # nothing of PUBLIC's default rights on the database either: the administrator's grants are all it has
    tls_server.execute(f"revoke all on database {name} from public")
    tls_server.execute(_administrators_sql(name), dbname=name)
    try:
        app = DemoApp(scale=0.005, seed=3)
        url = tls_server.url(name, user=RUNNER, password=RUNNER_PASSWORD, sslmode="verify-full",
                             sslrootcert=str(tls_server.ca_cert), application_name="knackhouse-daily")
        with SimulatorServer(app) as sim:
            done = _run(tmp_path_factory.mktemp("least") / "home", url, "--as-of", app.today.isoformat(), sim=sim,
                        timeout=600)
        yield done, name
    finally:
        tls_server.execute(f'drop database if exists "{name}" with (force)')
        tls_server.execute(f"drop role if exists {RUNNER}; drop role if exists {ANALYST}")


def _scalar(tls_server: Any, dbname: str, sql: str) -> Any:
    with closing(tls_server.admin(dbname)) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_a_run_over_verified_tls_as_a_least_privileged_role_loads_builds_and_publishes(
        least_privileged_run: Any, tls_server: Any) -> None:
    done, name = least_privileged_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "marts published" in done.stdout
    assert _scalar(tls_server, name, "select count(*) from marts.dim_students") > 0
    assert _scalar(tls_server, name, "select rolsuper or rolcreatedb or rolcreaterole from pg_roles "
                                     f"where rolname = '{RUNNER}'") is False
    # the role owns knackhouse's schemas and nothing else of the database
    assert _scalar(tls_server, name, "select array_agg(nspname::text order by nspname) from pg_namespace "
                                     f"where nspowner = '{RUNNER}'::regrole") == [
        "audit", "intermediate", "knack", "marts", "marts_candidate", "quarantine", "raw_knack", "snapshots", "staging",
        "test_failures"]


def test_the_runs_password_is_in_none_of_its_output(least_privileged_run: Any) -> None:
    done, _ = least_privileged_run
    output = done.stdout + done.stderr
    for spelling in (RUNNER_PASSWORD, "r%40n%2Fn%3Aer", "r@n/n:er"):
        assert spelling not in output
