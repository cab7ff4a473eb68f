"""Prefect's state of a daily-sync run tells the truth: Failed with the run's one-line reason when the run
exits non-zero, Completed for a clean or dry run. Read back from the Prefect server's API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.daily_sync import RunOptions, run_flow
from knackhouse.settings import Settings
from simulator import DemoApp, SimulatorServer
from tests.conftest import free_port, read_flow_run


@pytest.fixture(scope="module")
def sim():
    with SimulatorServer(DemoApp(scale=0.005, seed=3)) as server:
        yield server


def _settings(sim: SimulatorServer, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"home": tmp_path / "home", "knack_app_id": sim.app_id, "knack_api_key": sim.api_key,
                                 "knack_api_url": sim.base_url}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _state(outcome) -> tuple[str, str | None]:
    run = read_flow_run(outcome.summary["flow_run_id"])
    return run.state.type.value, run.state.message


def test_a_refused_api_key_run_from_the_cli_is_failed_in_prefect(prefect_harness, sim, database_url, tmp_path):
    env = {**os.environ, "KNACKHOUSE_HOME": str(tmp_path / "home"), "KNACKHOUSE_DATABASE_URL": database_url,
           "KNACK_APP_ID": sim.app_id, "KNACK_API_KEY": "wrong-key-9876", "KNACK_API_URL": sim.base_url}
    done = subprocess.run([sys.executable, "-m", "knackhouse.cli", "run"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 3, done.stderr[-2000:]
    report = next((tmp_path / "home" / "reports").glob("*.json")).read_text()
    import json

    run = read_flow_run(json.loads(report)["flow_run_id"])
    assert run.state.type.value == "FAILED"
    assert "daily-sync failed in task ingest" in run.state.message and "refused" in run.state.message
    assert "wrong-key-9876" not in run.state.message and "\n" not in run.state.message


def test_a_bad_mapping_is_failed_in_prefect_with_the_config_error(prefect_harness, sim, database_url, tmp_path):
    mapping = tmp_path / "mapping.yml"
    mapping.write_text("objects: [unclosed\n")
    outcome = run_flow(_settings(sim, tmp_path, app_config=mapping), database_url, RunOptions())
    assert outcome.exit_code == 2
    state, message = _state(outcome)
    assert state == "FAILED" and "not valid YAML" in message and str(mapping) in message


def test_a_crash_is_failed_in_prefect_naming_the_task(prefect_harness, sim, database_url, tmp_path, monkeypatch):
    import ingest.pipeline

    def crash(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug in ingest")

    monkeypatch.setattr(ingest.pipeline, "run_ingest", crash)
    outcome = run_flow(_settings(sim, tmp_path), database_url, RunOptions())
    assert outcome.exit_code == 2
    assert _state(outcome) == ("FAILED", "daily-sync crashed in task ingest: a bug in ingest")


def test_a_dry_run_is_completed_in_prefect(prefect_harness, sim, database_url, tmp_path):
    outcome = run_flow(_settings(sim, tmp_path), database_url, RunOptions(dry_run=True))
    assert outcome.exit_code == 0
    assert _state(outcome)[0] == "COMPLETED"


def test_a_prefect_api_that_does_not_start_is_a_clear_config_error(sim, database_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(KNACKHOUSE_HOME=str(tmp_path / "home"), KNACKHOUSE_DATABASE_URL=database_url, KNACK_APP_ID=sim.app_id,
               KNACK_API_KEY=sim.api_key, KNACK_API_URL=sim.base_url,
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="0")  # as if the machine were too busy
    done = subprocess.run([sys.executable, "-m", "knackhouse.cli", "run"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Prefect's temporary API server did not start within 0 s" in done.stderr
    assert "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" in done.stderr and "Traceback" not in done.stderr


def test_a_day_without_budget_postpones_every_object_and_is_completed(prefect_harness, sim, database_url, tmp_path):
    outcome = run_flow(_settings(sim, tmp_path, daily_request_budget=1), database_url, RunOptions())
    assert outcome.exit_code == 0, outcome.summary.get("headline")
    assert _state(outcome)[0] == "COMPLETED"
    postponed = outcome.summary["postponed"]
    assert postponed and all("left of the day's budget of 1" in p["reason"] for p in postponed)
    assert "## Postponed (daily request budget)" in Path(outcome.report_path).read_text()
    assert "postponed to stay within the daily request budget" in outcome.summary["headline"]


def test_budget_shortfall_error_makes_postponement_a_failed_run(prefect_harness, sim, database_url, tmp_path):
    settings = _settings(sim, tmp_path, daily_request_budget=1, budget_shortfall="error")
    outcome = run_flow(settings, database_url, RunOptions())
    assert outcome.exit_code == 3
    state, message = _state(outcome)
    assert state == "FAILED" and "postponed" in message and "KNACKHOUSE_BUDGET_SHORTFALL=error" in message


def test_a_prefect_api_url_nobody_answers_is_a_clear_config_error(sim, database_url, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/api"
    env = {**os.environ, "PREFECT_API_URL": dead, "KNACKHOUSE_HOME": str(tmp_path / "home"),
           "KNACKHOUSE_DATABASE_URL": database_url, "KNACK_APP_ID": sim.app_id, "KNACK_API_KEY": sim.api_key,
           "KNACK_API_URL": sim.base_url, "PREFECT_CLIENT_MAX_RETRIES": "0"}
    done = subprocess.run([sys.executable, "-m", "knackhouse.cli", "run"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"cannot reach the Prefect API at {dead}" in done.stderr and "Traceback" not in done.stderr
