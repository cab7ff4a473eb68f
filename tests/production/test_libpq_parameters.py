"""Every libpq parameter of KNACKHOUSE_DATABASE_URL reaches every tool alike: psycopg2 (knackhouse's own SQL),
dlt (ingest), dbt (the build) and SQLAlchemy (Great Expectations), each checked on a session it opens to a
TLS-only PostgreSQL whose superuser password needs URL escaping."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

import dbt_project
from knackhouse import dbt, warehouse

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


def _sqlalchemy(url: str) -> tuple:
    import sqlalchemy

    engine = sqlalchemy.create_engine(warehouse.sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            return tuple(connection.exec_driver_sql(PROBE).one())
    finally:
        engine.dispose()


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
    "sqlalchemy (GX)": lambda url, tmp_path: _sqlalchemy(url),
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
