"""`knackhouse run` refuses bad configuration fast: one line, exit 2, no traceback, before any record is read
and after one metadata request at most; `knackhouse --help` answers without loading the heavy libraries.

Goals (docs/benchmarks.md, benchmarks/bench_cli.py): 3 s to a configuration error, 0.5 s for --help, on the
build machine. The bounds here are looser, for a machine shared with other work, yet far below what loading
the flow's libraries costs (a refusal used to take 22 to 31 s).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simulator import DemoApp, SimulatorServer

REFUSAL_SECONDS = 8.0
HELP_SECONDS = 2.0
HEAVY = ("dbt", "dlt", "prefect", "great_expectations", "pandas", "sqlalchemy", "simulator.demo")


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(DemoApp(scale=0.005, seed=5)) as server:
        yield server


def _run(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """`knackhouse run ARGS` with only the given settings; returns the process and its wall time."""
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KNACKHOUSE_HOME": str(tmp_path / "home"), **env}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "knackhouse.cli", "run", *args], env=environ, capture_output=True,
                          text=True, timeout=120)
    return done, time.monotonic() - started


@pytest.fixture
def knack(sim: SimulatorServer, database_url: str) -> dict[str, str]:
    """Settings of a run that would go ahead: the simulator's app, an empty database, the demo mapping."""
    sim.reset_counter()
    return {"KNACK_APP_ID": sim.app_id, "KNACK_API_KEY": sim.api_key, "KNACK_API_URL": sim.base_url,
            "KNACKHOUSE_DATABASE_URL": database_url}


def _assert_refused(done: subprocess.CompletedProcess[str], seconds: float, message: str) -> None:
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert message in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert seconds < REFUSAL_SECONDS, f"refused after {seconds:.1f} s"


def _mapping(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mapping.yml"
    path.write_text(text)
    return str(path)


def test_missing_credentials_are_refused(tmp_path, database_url):
    done, seconds = _run(tmp_path, KNACKHOUSE_DATABASE_URL=database_url)
    _assert_refused(done, seconds, "KNACK_APP_ID and KNACK_API_KEY must be set")


def test_a_missing_mapping_file_is_refused(tmp_path, knack):
    done, seconds = _run(tmp_path, **knack, KNACKHOUSE_APP_CONFIG=str(tmp_path / "nowhere.yml"))
    _assert_refused(done, seconds, "nowhere.yml: cannot read it")


def test_a_mapping_that_is_no_yaml_is_refused(tmp_path, knack):
    done, seconds = _run(tmp_path, **knack, KNACKHOUSE_APP_CONFIG=_mapping(tmp_path, "objects: [unclosed\n"))
    _assert_refused(done, seconds, "not valid YAML")


def test_a_mapping_section_of_the_wrong_type_is_refused(tmp_path, knack):
    done, seconds = _run(tmp_path, **knack, KNACKHOUSE_APP_CONFIG=_mapping(tmp_path, "objects: [object_1]\n"))
    _assert_refused(done, seconds, "objects must be a mapping of object keys")


def test_an_unknown_object_key_is_refused_after_one_metadata_request(tmp_path, knack, sim):
    mapping = _mapping(tmp_path, "objects:\n  object_99: {modified_field: field_1}\n")
    done, seconds = _run(tmp_path, **knack, KNACKHOUSE_APP_CONFIG=mapping)
    _assert_refused(done, seconds, "objects names object_99, which the Knack app does not have")
    assert sim.request_count == 1 and not sim.object_request_counts, "one metadata request, no record read"


def test_an_unknown_field_key_is_refused_naming_its_object(tmp_path, knack):
    mapping = _mapping(tmp_path, "entities:\n  students: {object: object_3, fields: {email: field_13, "
                                 "establishment: field_999}}\n")
    done, seconds = _run(tmp_path, **knack, KNACKHOUSE_APP_CONFIG=mapping)
    _assert_refused(done, seconds, "names field field_999, which object object_3 does not have")


def test_a_field_of_the_wrong_knack_type_is_refused(tmp_path, knack):
    mapping = _mapping(tmp_path, "entities:\n  students: {object: object_3, fields: {email: field_13, "
                                 "establishment: field_13}}\n")
    done, seconds = _run(tmp_path, **knack, KNACKHOUSE_APP_CONFIG=mapping)
    _assert_refused(done, seconds, "establishment must be a connection field")


def test_an_unreachable_database_is_refused(tmp_path, knack):
    url = "postgresql://postgres@127.0.0.1:1/postgres"
    done, seconds = _run(tmp_path, **{**knack, "KNACKHOUSE_DATABASE_URL": url})
    _assert_refused(done, seconds, "cannot connect to PostgreSQL at 127.0.0.1:1")


@pytest.fixture
def server_without_tls() -> Iterator[int]:
    """A port on 127.0.0.1 answering PostgreSQL's SSLRequest with "N" (no TLS here), as a server without TLS does."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.2)
    stop = threading.Event()

    def answer() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                with suppress(OSError):
                    conn.recv(8)  # length + SSLRequest code
                    conn.sendall(b"N")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_a_tls_failure_is_refused_naming_tls(tmp_path, knack, server_without_tls):
    url = f"postgresql://postgres@127.0.0.1:{server_without_tls}/postgres?sslmode=require"
    done, seconds = _run(tmp_path, **{**knack, "KNACKHOUSE_DATABASE_URL": url})
    _assert_refused(done, seconds, "TLS connection to PostgreSQL at 127.0.0.1")
    assert "sslmode=require" in done.stderr


def test_a_role_the_database_refuses_is_refused(tmp_path, knack):
    from knackhouse import warehouse

    parts = warehouse.ConnectionParts.from_url(knack["KNACKHOUSE_DATABASE_URL"])
    url = warehouse.ConnectionParts(parts.host, parts.port, "kh_no_such_role", "", parts.dbname).url()
    done, seconds = _run(tmp_path, **{**knack, "KNACKHOUSE_DATABASE_URL": url})
    _assert_refused(done, seconds, "user kh_no_such_role)")


def test_a_reopened_year_in_the_wrong_format_is_refused(tmp_path, knack):
    done, seconds = _run(tmp_path, "--reopen-year", "2025", **knack)
    _assert_refused(done, seconds, "--reopen-year must be an academic year written YYYY/YYYY, e.g. 2024/2025")


def test_a_reopened_year_that_is_not_frozen_is_refused(tmp_path, knack):
    done, seconds = _run(tmp_path, "--reopen-year", "2023/2024", **knack)
    _assert_refused(done, seconds, "--reopen-year 2023/2024: that year is not frozen")


def test_an_as_of_date_in_the_future_is_refused(tmp_path, knack):
    tomorrow_everywhere = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    done, seconds = _run(tmp_path, "--as-of", tomorrow_everywhere, **knack)
    _assert_refused(done, seconds, f"--as-of {tomorrow_everywhere} is in the future")


def test_an_as_of_date_in_the_wrong_format_is_refused(tmp_path, knack):
    done, seconds = _run(tmp_path, "--as-of", "31/03/2025", **knack)
    _assert_refused(done, seconds, "--as-of must be a date written YYYY-MM-DD")


def test_help_answers_quickly(tmp_path):
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "knackhouse.cli", "--help"], capture_output=True, text=True,
                          timeout=60, env={"PATH": os.environ.get("PATH", ""), "KNACKHOUSE_HOME": str(tmp_path)})
    seconds = time.monotonic() - started
    assert done.returncode == 0 and "usage: knackhouse" in done.stdout
    assert seconds < HELP_SECONDS, f"--help took {seconds:.2f} s"


def test_help_loads_none_of_the_heavy_libraries():
    code = ("import sys; from knackhouse.cli import build_parser; build_parser().format_help(); "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_refusal_loads_none_of_the_heavy_libraries(tmp_path, knack):
    """The checks end before dlt, dbt, Prefect or GX are imported: that is what makes them fast."""
    mapping = _mapping(tmp_path, "objects:\n  object_99: {modified_field: field_1}\n")
    code = ("import sys; from knackhouse.cli import main; code = main(['run']); "
            f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules))")
    env = {"PATH": os.environ.get("PATH", ""), "KNACKHOUSE_HOME": str(tmp_path / "home"), **knack,
           "KNACKHOUSE_APP_CONFIG": mapping}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert "object_99" in done.stderr
    assert done.stdout.strip() == "2 []"
