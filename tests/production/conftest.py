"""PostgreSQL servers of the kind a team already has, started by the tests themselves.

`tls_server`: a cluster of its own (initdb + pg_ctl from PATH, as user postgres when run as root) on a free
port, serving TLS only (`pg_hba.conf` has `hostssl` lines and no `host` ones) with a certificate signed by a
throwaway openssl CA, and a password for its superuser that needs URL escaping; role CERT_USER signs in there
with a client certificate the same CA signed (`cert` authentication). `plain_server`: the same
without TLS. Both are started once per session and stopped in a finally.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest

# characters a URL must escape: @ / : % + and a space
SUPERUSER_PASSWORD = "p@ss/w:rd %+1"
CERT_USER = "knackhouse_cert"  # on the TLS server, this role signs in with a client certificate only
START_SECONDS = 60
TOOLS = ("initdb", "pg_ctl", "openssl")


@dataclass(frozen=True)
class TestServer:
    """A running cluster: `url()` reaches it over TCP like a user would; `admin()` over its socket."""

    port: int
    socket_dir: Path
    ca_cert: Path | None  # the CA that signed the server's certificate (None: no TLS)
    wrong_ca_cert: Path | None  # a CA that signed nothing of this server's
    client_cert: Path | None = None  # a certificate of CERT_USER signed by the CA, and its key
    client_key: Path | None = None

    def url(self, dbname: str = "postgres", user: str = "postgres", password: str = SUPERUSER_PASSWORD,
            **params: str) -> str:
        query = "&".join(f"{key}={quote(value, safe='')}" for key, value in params.items())
        auth = f"{quote(user, safe='')}:{quote(password, safe='')}"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{dbname}" + (f"?{query}" if query else "")

    def admin(self, dbname: str = "postgres"):  # noqa: ANN201 - a psycopg2 connection
        """A superuser connection through the Unix socket (trust), independent of the code under test."""
        connection = psycopg2.connect(host=str(self.socket_dir), port=self.port, user="postgres", dbname=dbname)
        connection.autocommit = True
        return connection

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        with closing(self.admin(dbname)) as connection, connection.cursor() as cursor:
            cursor.execute(sql)


def _free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=START_SECONDS)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout.strip()}")


def _make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.crt"
    _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
         folder)
    return key, cert


def _sign(folder: Path, name: str, subject: str, usage: str, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    """A key and a certificate for `subject`, signed by the CA (its key, its certificate)."""
    key, request, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.crt"
    _run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", str(key), "-out", str(request), "-subj", f"/CN={subject}"], folder)
    extensions = folder / f"{name}.ext"
    extensions.write_text(usage)
    _run(["openssl", "x509", "-req", "-in", str(request), "-CA", str(ca[1]), "-CAkey", str(ca[0]),
          "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(extensions)], folder)
    key.chmod(0o600)
    return key, cert


def _make_certificates(folder: Path) -> tuple[Path, Path, Path, Path]:
    """A CA, the server's key and certificate it signed (for 127.0.0.1 and localhost), and a wrong CA."""
    ca = _make_ca(folder, "knackhouse-test-ca")
    _, wrong_ca_cert = _make_ca(folder, "some-other-ca")
    key, cert = _sign(folder, "server", "localhost",
                      "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n", ca)
    return ca[1], wrong_ca_cert, key, cert


def _make_client_certificate(folder: Path) -> tuple[Path, Path]:
    """CERT_USER's key and certificate, signed by the server's CA (the CA's key is in `folder`)."""
    client = folder / "client"
    client.mkdir()
    ca = (folder / "knackhouse-test-ca.key", folder / "knackhouse-test-ca.crt")
    return _sign(client, "client", CERT_USER, "extendedKeyUsage=clientAuth\n", ca)


@pytest.fixture(scope="session")
def _cluster_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not on PATH: these tests start a PostgreSQL of their own")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: initdb must run as user postgres")


def _start_cluster(tls: bool) -> Iterator[TestServer]:
    folder = Path(tempfile.mkdtemp(prefix="knackhouse-pg-"))
    data = folder / "data"
    started = False
    try:
        ca_cert = wrong_ca_cert = client_key = client_cert = None
        settings = [f"port = {_free_port()}", "listen_addresses = '127.0.0.1'",
                    f"unix_socket_directories = '{folder}'", "fsync = off", "synchronous_commit = off",
                    "full_page_writes = off", "max_connections = 40", "shared_buffers = 32MB"]
        hba = ["local all all trust"]
        if tls:
            ca_cert, wrong_ca_cert, key, cert = _make_certificates(folder)
            settings += ["ssl = on", f"ssl_cert_file = '{cert}'", f"ssl_key_file = '{key}'",
                         f"ssl_ca_file = '{ca_cert}'"]
            hba.append(f"hostssl all {CERT_USER} 127.0.0.1/32 cert")
            hba.append("hostssl all all 127.0.0.1/32 scram-sha-256")
        else:
            hba.append("host all all 127.0.0.1/32 scram-sha-256")
        password_file = folder / "password"
        password_file.write_text(SUPERUSER_PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
            for path in folder.iterdir():
                shutil.chown(path, "postgres")
        if tls:  # made after the chown: the client's key stays the test process's own (libpq checks that)
            client_key, client_cert = _make_client_certificate(folder)
        _run(_as_postgres(["initdb", "-D", str(data), "-U", "postgres", "-A", "scram-sha-256",
                           "--auth-local=trust", f"--pwfile={password_file}", "-N"]), folder)
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(settings) + "\n")
        (data / "pg_hba.conf").write_text("\n".join(hba) + "\n")
        port = int(settings[0].split("=")[1])
        started = True
        _run(_as_postgres(["pg_ctl", "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t",
                           str(START_SECONDS), "start"]), folder)
        yield TestServer(port=port, socket_dir=folder, ca_cert=ca_cert, wrong_ca_cert=wrong_ca_cert,
                         client_cert=client_cert, client_key=client_key)
    finally:
        if started:
            subprocess.run(_as_postgres(["pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"]),
                           cwd=folder, capture_output=True, timeout=START_SECONDS)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def tls_server(_cluster_tools: None) -> Iterator[TestServer]:
    """A PostgreSQL that accepts TLS connections only, its certificate signed by a throwaway CA."""
    yield from _start_cluster(tls=True)


@pytest.fixture(scope="session")
def plain_server(_cluster_tools: None) -> Iterator[TestServer]:
    """A PostgreSQL without TLS (ssl = off)."""
    yield from _start_cluster(tls=False)


@pytest.fixture
def tls_database(tls_server: TestServer) -> Iterator[str]:
    """A fresh database on the TLS server, dropped afterwards; its name."""
    name = f"kh_tls_{uuid.uuid4().hex[:10]}"
    tls_server.execute(f'create database "{name}"')
    try:
        yield name
    finally:
        tls_server.execute(f'drop database if exists "{name}" with (force)')
