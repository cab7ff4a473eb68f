"""Every libpq parameter of KNACKHOUSE_DATABASE_URL reaches every tool alike: psycopg2 (knackhouse's own SQL),
dlt (ingest), dbt (the build) and Great Expectations (the guards), each checked on a session it opens to a
TLS-only PostgreSQL whose superuser password needs URL escaping."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

import dbt_project
from knackhouse import dbt, warehouse
from knackhouse.errors import ConfigError
from tests.production.conftest import CERT_USER

# what a session shows of the URL's parameters: TLS in use, its application_name, a setting from `options`
PROBE = ("select s.ssl::text, current_setting('application_name'), current_setting('statement_timeout'), "
         "current_setting('jit') from pg_stat_ssl s where s.pid = pg_backend_pid()")
PARAMETERS = {"application_name": "knackhouse-probe", "options": "-c statement_timeout=4min"}


def _psycopg2(url: str) -> tuple:
    with closing(warehouse.connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute(PROBE)
        return cursor.fetchone()


def _dlt(url: str, tmp_path: Path) -> tuple:
    import dlt

    destination = dlt.destinations.postgres(warehouse.dlt_credentials(url))
    pipeline = dlt.pipeline(pipeline_name="probe", destination=destination, dataset_name="probe",
                            pipelines_dir=str(tmp_path / "dlt"))
    with pipeline.sql_client() as client:
        return tuple(client.execute_sql(PROBE)[0])


def _great_expectations(url: str) -> tuple:
    """The probe through a GX postgres datasource set up as the guards set theirs up (expectations/gx_checkpoint.py:
    its connection string a ${variable} GX substitutes from the environment)."""
    import great_expectations as gx

    from expectations.gx_checkpoint import CONNECTION_ENV

    previous = os.environ.get(CONNECTION_ENV)
    os.environ[CONNECTION_ENV] = warehouse.sqlalchemy_url(url)
    try:
        context = gx.get_context(mode="ephemeral")
        source = context.data_sources.add_postgres("probe", connection_string="${" + CONNECTION_ENV + "}")
        engine = source.get_engine()
        try:
            with engine.connect() as connection:
                return tuple(connection.exec_driver_sql(PROBE).one())
        finally:
            engine.dispose()
    finally:
        if previous is None:
            os.environ.pop(CONNECTION_ENV, None)
        else:
            os.environ[CONNECTION_ENV] = previous


DBT_PROJECT = """name: probe
version: "1.0"
profile: knackhouse
"""


def _dbt(url: str, tmp_path: Path) -> tuple:
    """`dbt show` of the probe, with the shipped profile and the variables knackhouse gives dbt."""
    from dbt.cli.main import dbtRunner

    project = tmp_path / "dbt"
    project.mkdir()
    (project / "dbt_project.yml").write_text(DBT_PROJECT)
    shutil.copy(Path(dbt_project.PROJECT_DIR) / "profiles.yml", project / "profiles.yml")
    args = ["show", "--inline", PROBE, "--project-dir", str(project), "--profiles-dir", str(project),
            "--target-path", str(project / "target"), "--log-path", str(project / "logs"), "--quiet"]
    with dbt.environment_for(warehouse.dbt_env(url)):
        result = dbtRunner().invoke(args)
    if not result.success:
        raise RuntimeError(f"dbt could not connect: {result.exception}")
    return tuple(str(value) for value in result.result.results[0].agate_table.rows[0])


TOOLS: dict[str, Callable[..., tuple]] = {
    "psycopg2": lambda url, tmp_path: _psycopg2(url),
    "dlt": _dlt,
    "dbt": _dbt,
    "great_expectations": lambda url, tmp_path: _great_expectations(url),
}


@pytest.mark.parametrize("tool", TOOLS)
def test_each_tool_verifies_the_server_certificate_against_the_urls_ca(tls_server: Any, tool: str,
                                                                        tmp_path: Path) -> None:
    url = tls_server.url(sslmode="verify-full", sslrootcert=str(tls_server.wrong_ca_cert), connect_timeout="5")
    with pytest.raises(Exception, match="certificate verify failed"):  # noqa: B017 - each tool has its own type
        TOOLS[tool](url, tmp_path)


@pytest.mark.parametrize("tool", TOOLS)
def test_each_tool_sessions_carry_the_urls_parameters_and_escaped_password(tls_server: Any, tool: str,
                                                                           tmp_path: Path) -> None:
    url = tls_server.url(sslmode="verify-full", sslrootcert=str(tls_server.ca_cert), **PARAMETERS)
    ssl, application_name, statement_timeout, jit = TOOLS[tool](url, tmp_path)
    assert (ssl, application_name, statement_timeout) == ("true", "knackhouse-probe", "4min")
    if tool == "dbt":  # the user's options are merged with dbt's own session settings, not put in their place
        assert jit == "off"


@pytest.fixture(scope="module")
def cert_role(tls_server: Any) -> Iterator[str]:
    """CERT_USER as a login role without a password: only its client certificate lets it in."""
    tls_server.execute(f"create role {CERT_USER} login")
    try:
        yield CERT_USER
    finally:
        tls_server.execute(f"drop role if exists {CERT_USER}")


@pytest.mark.parametrize("tool", TOOLS)
def test_each_tool_signs_in_with_the_urls_client_certificate(tls_server: Any, cert_role: str, tool: str,
                                                             tmp_path: Path) -> None:
    url = tls_server.url(user=cert_role, password="", sslmode="verify-full", sslrootcert=str(tls_server.ca_cert),
                         sslcert=str(tls_server.client_cert), sslkey=str(tls_server.client_key),
                         application_name="knackhouse-cert")
    ssl, application_name, _, _ = TOOLS[tool](url, tmp_path)
    assert (ssl, application_name) == ("true", "knackhouse-cert")


def test_without_its_client_certificate_the_cert_role_is_refused(tls_server: Any, cert_role: str) -> None:
    url = tls_server.url(user=cert_role, password="", sslmode="verify-full", sslrootcert=str(tls_server.ca_cert))
    with pytest.raises(ConfigError, match="certificate"):
        _psycopg2(url)


@pytest.mark.parametrize("tool", TOOLS)
def test_each_tool_keeps_the_urls_target_session_attrs(tls_server: Any, tool: str, tmp_path: Path) -> None:
    # the test server is a primary: a URL asking for a standby must be refused, not quietly served by it
    url = tls_server.url(sslmode="verify-full", sslrootcert=str(tls_server.ca_cert), target_session_attrs="standby")
    with pytest.raises(Exception, match="hot standby"):  # noqa: B017 - each tool has its own type
        TOOLS[tool](url, tmp_path)


SILENT_SECONDS = 20  # how long the silent server keeps a connection a client does not close


@pytest.fixture
def silent_server() -> Iterator[tuple[int, Callable[[], list[float]]]]:
    """A TCP port that takes connections and never answers; yields it and a function giving, for each connection
    so far, the seconds until its client gave up and closed it (the server closes it after SILENT_SECONDS, so
    nothing hangs)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    held: list[float] = []
    threads: list[threading.Thread] = []
    stop = threading.Event()

    def hold(connection: socket.socket) -> None:
        opened = time.monotonic()
        connection.settimeout(SILENT_SECONDS)
        try:
            while connection.recv(4096):
                pass
            held.append(time.monotonic() - opened)
        except OSError:
            held.append(float("inf"))  # the client never gave up: the server did
        finally:
            connection.close()

    def serve() -> None:
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                connection = listener.accept()[0]
            except TimeoutError:
                continue
            threads.append(threading.Thread(target=hold, args=(connection,), daemon=True))
            threads[-1].start()

    def closed() -> list[float]:
        for thread in list(threads):
            thread.join(timeout=SILENT_SECONDS + 5)
        return held

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        yield listener.getsockname()[1], closed
    finally:
        stop.set()
        server.join(timeout=10)
        for thread in threads:
            thread.join(timeout=SILENT_SECONDS + 5)
        listener.close()


@pytest.mark.parametrize("tool", TOOLS)
def test_each_tool_gives_up_after_the_urls_connect_timeout(silent_server: tuple[int, Callable[[], list[float]]],
                                                           tool: str, tmp_path: Path) -> None:
    # below every tool's own default (knackhouse 5 s, dbt 10 s, dlt 15 s, GX none): only the URL's 2 s
    # makes each connection give up within 4 s
    port, closed = silent_server
    url = f"postgresql://postgres:x@127.0.0.1:{port}/postgres?sslmode=disable&connect_timeout=2"
    with pytest.raises(Exception, match="timeout expired"):  # noqa: B017 - each tool has its own type
        TOOLS[tool](url, tmp_path)
    held = closed()
    assert held and all(1.5 <= seconds < 4 for seconds in held), held
