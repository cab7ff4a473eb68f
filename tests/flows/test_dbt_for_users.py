"""dbt as dbt users expect it, and a quiet console: after two runs of the flow on a small demo app, plain `dbt`
works with the generated profile, `knackhouse dbt` and `knackhouse docs` work on the same project, the yml
descriptions are PostgreSQL comments, and `knackhouse run` prints a few readable lines (everything with -v)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import yaml

import dbt_project
from flows.daily_sync import RunOptions, run_flow
from knackhouse import warehouse
from knackhouse.settings import Settings
from simulator import DemoApp, SimulatorServer

KNACKHOUSE = [sys.executable, "-m", "knackhouse.cli"]
DBT = str(Path(sys.executable).parent / "dbt")
PASSWORD = "pw-never-on-disk"  # the test server trusts 127.0.0.1, so any password connects
ANSI = "\x1b["


def _query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with closing(warehouse.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _env(home: Path, url: str, sim: SimulatorServer | None = None) -> dict[str, str]:
    """A user's environment: no tool variables of the test session, the warehouse and home of the fixture."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KNACK", "DBT_"))}
    env.update(KNACKHOUSE_HOME=str(home), KNACKHOUSE_DATABASE_URL=url)
    if sim is not None:
        env.update(KNACK_APP_ID=sim.app_id, KNACK_API_KEY=sim.api_key, KNACK_API_URL=sim.base_url)
    return env


class Warehouse:
    def __init__(self, home: Path, url: str, app: DemoApp, sim: SimulatorServer, outcomes: list[Any]) -> None:
        self.home, self.url, self.app, self.sim, self.outcomes = home, url, app, sim, outcomes

    def knackhouse(self, *args: str, sim: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*KNACKHOUSE, *args], env=_env(self.home, self.url, self.sim if sim else None),
                              capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def built(prefect_harness: str, server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A warehouse after an initial load and one more day, its URL carrying a password."""
    name = "kh_dbt_for_users"
    url = warehouse.with_password(warehouse.create_database(server_url, name, replace=True), PASSWORD)
    home = tmp_path_factory.mktemp("dbt-users") / "home"
    app = DemoApp(scale=0.02, seed=5)
    try:
        with SimulatorServer(app) as sim:
            settings = Settings(home=home, knack_app_id=sim.app_id, knack_api_key=sim.api_key,
                                knack_api_url=sim.base_url)
            outcomes = [run_flow(settings, url, RunOptions(as_of=app.today))]
            app.advance(1)
            outcomes.append(run_flow(settings, url, RunOptions(as_of=app.today)))
            assert [o.exit_code for o in outcomes] == [0, 0], [o.summary.get("headline") for o in outcomes]
            yield Warehouse(home, url, app, sim, outcomes)
    finally:
        warehouse.drop_database(server_url, name)


def test_the_generated_profile_holds_no_password(built: Warehouse) -> None:
    text = (built.home / "dbt" / "profiles.yml").read_text()
    assert PASSWORD not in text
    output = yaml.safe_load(text)["knackhouse"]["outputs"]["warehouse"]
    assert output["password"] == "{{ env_var('KNACKHOUSE_DATABASE_PASSWORD', '') }}"
    assert output["dbname"] == "kh_dbt_for_users"


def test_plain_dbt_runs_the_project_with_the_generated_profile(built: Warehouse) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KNACK", "DBT_"))}
    env.update(DBT_PROFILES_DIR=str(built.home / "dbt"), KNACKHOUSE_DATABASE_PASSWORD=PASSWORD)
    done = subprocess.run([DBT, "test", "--select", "dim_students", "--project-dir",
                           str(built.home / "dbt" / "project"), "--target-path", str(built.home / "plain-target")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"PASS=[1-9]", done.stdout) and "ERROR=0" in done.stdout


def test_knackhouse_dbt_runs_any_dbt_command_and_passes_its_exit_code(built: Warehouse) -> None:
    passed = built.knackhouse("dbt", "test", "-s", "dim_establishments")
    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr[-2000:]
    assert re.search(r"PASS=[1-9]", passed.stdout)
    failed = built.knackhouse("dbt", "run-operation", "no_such_macro_anywhere")
    assert failed.returncode != 0
    assert "no_such_macro_anywhere" in failed.stdout + failed.stderr


def test_column_descriptions_of_the_yml_are_comments_of_the_published_marts(built: Warehouse) -> None:
    marts = yaml.safe_load((Path(dbt_project.PROJECT_DIR) / "models" / "marts" / "_marts.yml").read_text())
    students = next(m for m in marts["models"] if m["name"] == "dim_students")
    email = next(c for c in students["columns"] if c["name"] == "email")
    rows = _query(built.url, "select col_description('marts.dim_students'::regclass, attnum) from pg_attribute "
                  "where attrelid = 'marts.dim_students'::regclass and attname = 'email'")
    assert rows == [(email["description"],)]
    tables = _query(built.url, "select c.relname, d.description from pg_description as d join pg_class as c "
                    "on c.oid = d.objoid and d.objsubid = 0 join pg_namespace as n on n.oid = c.relnamespace "
                    "where n.nspname = 'marts' and c.relname in ('dim_students', 'fct_vespa_results')")
    described = {m["name"]: m["description"] for m in marts["models"]}
    assert dict(tables) == {name: described[name] for name in ("dim_students", "fct_vespa_results")}


def test_knackhouse_docs_builds_static_dbt_docs_and_gx_data_docs(built: Warehouse) -> None:
    done = built.knackhouse("docs")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    paths = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    assert paths["dbt docs"].endswith("static_index.html") and Path(paths["dbt docs"]).is_file()
    assert Path(paths["GX Data Docs"].removeprefix("file://")).is_file()
    manifest = json.loads((built.home / "dbt" / "target" / "manifest.json").read_text())
    exposures = {e["name"]: e["depends_on"]["nodes"] for e in manifest["exposures"].values()}
    assert "model.knackhouse.dim_students" in exposures["analysts_bi"]
    assert "model.knackhouse.fct_vespa_results" in exposures["daily_sync_report"]


def test_the_run_report_links_the_static_dbt_docs(built: Warehouse) -> None:
    report = Path(built.outcomes[-1].report_path).read_text()
    link = re.search(r"- dbt docs: (\S+)", report)
    assert link and link.group(1).endswith("/static_index.html")
    assert Path(link.group(1).removeprefix("file://")).is_file()


def test_source_freshness_is_reported_per_source(built: Warehouse) -> None:
    freshness = built.outcomes[-1].summary["freshness"]
    tables = {row[0] for row in _query(built.url, "select table_name from raw_knack._knack_objects")}
    assert {f["source"] for f in freshness} == {f"raw_knack.{t}" for t in tables} | {"knackhouse_runs.runs"}
    assert {f["status"] for f in freshness} == {"pass"}
    assert "## Source freshness" in Path(built.outcomes[-1].report_path).read_text()


@pytest.fixture(scope="module")
def quiet_run(built: Warehouse) -> subprocess.CompletedProcess[str]:
    """`knackhouse run` on a day when nothing changed in Knack, its output captured (not a terminal)."""
    return built.knackhouse("run", "--as-of", built.app.today.isoformat(), sim=True)


def test_a_run_with_nothing_to_do_prints_a_few_plain_lines(quiet_run: subprocess.CompletedProcess[str]) -> None:
    assert quiet_run.returncode == 0, quiet_run.stdout[-3000:] + quiet_run.stderr[-3000:]
    lines = (quiet_run.stdout + quiet_run.stderr).splitlines()
    assert len(lines) <= 15, "\n".join(lines)
    assert ANSI not in quiet_run.stdout + quiet_run.stderr
    assert re.search(r"^dbt build: \d+ passed, \d+ warned, 0 failed", quiet_run.stdout, re.M)
    assert re.search(r"^ingest: \d+ objects, \d+ requests", quiet_run.stdout, re.M)


def test_the_full_logs_are_files_the_report_names(built: Warehouse,
                                                    quiet_run: subprocess.CompletedProcess[str]) -> None:
    report_path = Path(re.search(r"^report: (.+)$", quiet_run.stdout, re.M).group(1))
    report = report_path.read_text()
    named = dict(re.findall(r"^- (dbt|dlt|gx|flow): (.+)$", report, re.M))
    assert set(named) == {"dbt", "dlt", "gx", "flow"}
    run_folder = built.home / "logs" / report_path.stem
    for path in named.values():
        assert Path(path).parent == run_folder and Path(path).is_file()
    assert "Running with dbt=" in Path(named["dbt"]).read_text()
    assert "dim_students" in Path(named["dbt"]).read_text()


def test_verbose_brings_back_dbt_own_output(built: Warehouse) -> None:
    done = built.knackhouse("run", "-v", "--as-of", built.app.today.isoformat(), sim=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Running with dbt=" in done.stdout and "Completed successfully" in done.stdout
    assert ANSI not in done.stdout
