"""The daily flow end to end against the simulator and a real PostgreSQL: a green day in-process, and the
`knackhouse` command in a subprocess — killed with SIGKILL mid-run then rerun, and the demo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from flows.cli import DEMO_DATABASE
from flows.daily_sync import RunOptions, run_flow
from knackhouse import warehouse
from simulator import DemoApp, SimulatorServer
from simulator.demo_schema import RESULTS, STUDENTS

KNACKHOUSE = [sys.executable, "-m", "knackhouse.cli"]


def _scalar(database_url: str, sql: str, params: tuple = ()) -> object:
    with closing(warehouse.connect(database_url)) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
        return row[0] if row else None


@pytest.fixture(scope="module")
def green_day(prefect_harness, server_url, tmp_path_factory):
    """The initial load of a small demo app through the flow, in-process."""
    name = "kh_flow_green"
    with closing(warehouse.connect(server_url, autocommit=True)) as admin, admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
        cur.execute(f'create database "{name}"')
    url = warehouse.with_database(server_url, name)
    app = DemoApp(scale=0.02, seed=2)
    from knackhouse.settings import Settings

    with SimulatorServer(app) as sim:
        settings = Settings(home=tmp_path_factory.mktemp("green") / "home", knack_app_id=sim.app_id,
                            knack_api_key=sim.api_key, knack_api_url=sim.base_url)
        outcome = run_flow(settings, url, RunOptions(as_of=app.today))
    yield outcome, url, sim.api_key
    with closing(warehouse.connect(server_url, autocommit=True)) as admin, admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')


def test_a_green_day_publishes_and_exits_zero(green_day):
    outcome, url, _ = green_day
    assert outcome.exit_code == 0, outcome.summary.get("headline")
    assert outcome.summary["status"] == "success"
    assert _scalar(url, "select count(*) from marts.dim_students") > 1000
    assert _scalar(url, "select status from audit.runs where run_id = %s", (outcome.summary["run_id"],)) == "success"


def test_the_report_shows_objects_marts_guards_durations_and_links(green_day):
    outcome, _, _ = green_day
    report = Path(outcome.report_path).read_text()
    for section in ("## Objects", "## Marts", "## Guards", "## Durations", "## Links", "GX Data Docs: file://",
                    "growth plot: "):
        assert section in report, section
    for step in ("ingest", "dbt build", "guards", "publish"):
        assert f"| {step} |" in report
    assert Path(outcome.summary["growth_plot"]).exists()


def test_the_api_key_is_in_no_report_audit_row_or_artifact(green_day):
    outcome, url, key = green_day
    assert key not in Path(outcome.report_path).read_text()
    assert key not in Path(outcome.report_path).with_suffix(".json").read_text()
    assert _scalar(url, "select count(*) from audit.runs r where row_to_json(r)::text like %s", (f"%{key}%",)) == 0
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
    assert artifacts and all(key not in str(a.data) for a in artifacts)


def _cli_env(home: Path, database_url: str, sim: SimulatorServer | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KNACK"))}
    env.update(KNACKHOUSE_HOME=str(home), KNACKHOUSE_DATABASE_URL=database_url)
    if sim is not None:
        env.update(KNACK_APP_ID=sim.app_id, KNACK_API_KEY=sim.api_key, KNACK_API_URL=sim.base_url)
    return env


@pytest.mark.slow
def test_a_run_killed_mid_ingest_is_completed_by_the_next_run(database_url, tmp_path):
    app = DemoApp(scale=0.05, seed=4)
    with SimulatorServer(app) as sim:
        env = _cli_env(tmp_path / "home", database_url, sim)
        log = tmp_path / "killed-run.log"
        with log.open("wb") as out:
            first = subprocess.Popen([*KNACKHOUSE, "run", "--as-of", app.today.isoformat()], env=env, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and first.poll() is None and sim.request_count < 3:
                time.sleep(0.05)
            assert first.poll() is None, "the first run was still going when it was killed"
            os.killpg(first.pid, signal.SIGKILL)  # the run and everything it started, as kill -9 would
            first.wait(timeout=30)
        killed_output = log.read_text(errors="replace")
        second = subprocess.run([*KNACKHOUSE, "run", "--as-of", app.today.isoformat()], env=env,
                                capture_output=True, text=True, timeout=600)
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        truth = app.truth()
        for object_key, table in ((STUDENTS, "students"), (RESULTS, "vespa_results")):
            live = _scalar(database_url, f"select count(*) from raw_knack.{table} where _deleted_at is null")
            assert live == len(truth.live_ids[object_key])
        assert _scalar(database_url, "select count(*) from pg_locks l join pg_database d on d.oid = l.database "
                      "where l.locktype = 'advisory' and d.datname = current_database()") == 0
        for text in (killed_output, second.stdout, second.stderr):
            assert sim.api_key not in text


@pytest.fixture(scope="module")
def demo_run(server_url, tmp_path_factory):
    """`knackhouse demo` at a small scale, two days after the initial load (day 1 the incident, day 2 its
    clean-up), against a database of the test server that the demo must leave alone."""
    name = f"kh_demo_target_{os.getpid()}"
    database_url = warehouse.create_database(server_url, name, replace=True)
    home = tmp_path_factory.mktemp("demo") / "home"
    try:
        done = subprocess.run([*KNACKHOUSE, "demo", "--scale", "0.02", "--days", "2"],
                              env=_cli_env(home, database_url, None), capture_output=True, text=True, timeout=900)
        done.home = home  # type: ignore[attr-defined]
        done.database_url = database_url  # type: ignore[attr-defined]
        yield done
    finally:
        warehouse.drop_database(server_url, DEMO_DATABASE)
        warehouse.drop_database(server_url, name)


@pytest.mark.slow
def test_the_demo_runs_days_with_an_incident_and_says_how_to_query(demo_run):
    done = demo_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.count("# knackhouse daily-sync") == 3
    assert "=== day 2" in done.stdout
    assert "query the marts: psql" in done.stdout and "reports:" in done.stdout
    assert (done.home / "reports").is_dir()


def test_the_demo_works_in_its_own_database_and_leaves_the_configured_one_alone(demo_run):
    done = demo_run
    demo_url = warehouse.with_database(done.database_url, DEMO_DATABASE)
    assert f"psql '{demo_url}'" in done.stdout
    assert _scalar(demo_url, "select count(*) from marts.dim_students") > 0
    assert _scalar(done.database_url, "select to_regnamespace('raw_knack')") is None


def test_after_the_demo_warehouse_url_demo_leads_to_its_marts(demo_run):
    """The command the demo's last lines and the README give: `psql "$(knackhouse warehouse url --demo)"`."""
    done = demo_run
    url = subprocess.run([*KNACKHOUSE, "warehouse", "url", "--demo"], env=_cli_env(done.home, done.database_url, None),
                         capture_output=True, text=True, timeout=60)
    assert url.returncode == 0, url.stderr
    assert 'psql "$(knackhouse warehouse url --demo)"' in done.stdout
    demo_url = url.stdout.strip()
    assert warehouse.ConnectionParts.from_url(demo_url).dbname == DEMO_DATABASE
    assert _scalar(demo_url, "select count(*) from marts.dim_students") > 0
    assert _scalar(demo_url, "select count(*) from marts.fct_vespa_results") > 0


def test_the_demo_ends_with_a_published_day_after_its_incident_is_cleaned_up(demo_run):
    done = demo_run
    days = done.stdout.split("\n=== day ")[1:]
    assert "scripted incident" in days[1] and ": FAILED" in days[1]
    assert "operator deleted" in days[2] and ": SUCCESS" in days[2]


def test_a_green_day_is_completed_in_prefect(green_day):
    from tests.conftest import read_flow_run

    outcome, _, _ = green_day
    assert read_flow_run(outcome.summary["flow_run_id"]).state.type.value == "COMPLETED"


def test_the_report_is_kept_in_audit_runs_and_as_the_flow_runs_artifact(green_day):
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter

    outcome, url, _ = green_day
    stored = _scalar(url, "select report from audit.runs where run_id = %s", (outcome.summary["run_id"],))
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(flow_run_filter=FlowRunFilter(id={"any_": [
            UUID(outcome.summary["flow_run_id"])]}))
    assert stored == artifact.data == Path(outcome.report_path).read_text()
    assert "## Guards" in stored
