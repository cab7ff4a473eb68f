"""A real deployment: `knackhouse deploy --pool P` on a `prefect server`, a process worker
(`prefect worker start --pool P --type process`) that runs it, and its runs' states read from the API."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from knackhouse.settings import DEFAULT_CRON, DEFAULT_TIMEZONE
from simulator import DemoApp, SimulatorServer
from tests.conftest import stop_process_group, wait_until

REPO = Path(__file__).resolve().parents[2]
POOL = "knackhouse-test"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _cron_far_from_now() -> str:
    """A daily cron twelve hours away, so the scheduler never starts a run during the test."""
    return f"15 {(datetime.now(UTC).hour + 12) % 24} * * *"


def _read_deployment(name: str = "daily-sync/daily"):
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_deployment_by_name(name)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(DemoApp(scale=0.005, seed=4)) as server:
        yield server


@pytest.fixture(scope="module")
def environment(prefect_harness: str, sim: SimulatorServer, server_url: str,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """What the operator exports on the worker host: the Prefect API, Knack and the warehouse."""
    import uuid

    from knackhouse import warehouse

    name = f"kh_deploy_{uuid.uuid4().hex[:8]}"
    admin = warehouse.connect(server_url, autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f'create database "{name}"')
    env = {**os.environ, "PREFECT_API_URL": prefect_harness, "PYTHONPATH": str(REPO),
           "KNACKHOUSE_HOME": str(tmp_path_factory.mktemp("worker") / "home"),
           "KNACKHOUSE_DATABASE_URL": warehouse.with_database(server_url, name),
           "KNACK_APP_ID": sim.app_id, "KNACK_API_KEY": sim.api_key, "KNACK_API_URL": sim.base_url,
           "KNACKHOUSE_CRON": _cron_far_from_now(), "KNACKHOUSE_TIMEZONE": "Europe/London",
           "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_LOGGING_LEVEL": "WARNING"}
    try:
        yield env
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


@pytest.fixture(scope="module")
def deployed(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "knackhouse.cli", "deploy", "--pool", POOL], env=environment,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def worker(deployed: subprocess.CompletedProcess[str], environment: dict[str, str],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen[bytes]]:
    """`prefect worker start --pool P --type process`, stopped (with its flow runs) at the end."""
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    log = tmp_path_factory.mktemp("worker-log") / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--type",
                                    "process"], env=environment, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        yield process
    finally:
        stop_process_group(process)


def _run_to_the_end(**kwargs: object):
    """Trigger daily-sync/daily, then poll its flow run until a final state (bounded)."""
    from prefect import get_client
    from prefect.deployments import run_deployment

    started = run_deployment("daily-sync/daily", timeout=0, **kwargs)

    def final():
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(started.id)
        return run if run.state and run.state.type.value in FINAL else None

    return wait_until(final, 420, f"flow run {started.id} to end on the worker", interval=1.0)


def test_knackhouse_deploy_registers_one_run_at_a_time_on_the_settings_schedule(deployed, environment):
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    deployment = _read_deployment()
    assert deployment.work_pool_name == POOL
    assert deployment.global_concurrency_limit is not None and deployment.global_concurrency_limit.limit == 1
    (schedule,) = deployment.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == (environment["KNACKHOUSE_CRON"], "Europe/London")
    assert f"/deployments/deployment/{deployment.id}" in deployed.stdout
    assert deployed.stdout.count("next runs:") == 1 and deployed.stdout.count("+00:00") + \
        deployed.stdout.count("+01:00") == 3


def test_the_process_worker_runs_the_deployment_to_completed(worker):
    run = _run_to_the_end(parameters={"options": {"dry_run": True}})
    assert run.state.type.value == "COMPLETED", run.state.message


@pytest.fixture(scope="module")
def failing_run(worker):
    """A run the worker makes with a wrong Knack key (exit 3)."""
    return _run_to_the_end(job_variables={"env": {"KNACK_API_KEY": "not-the-key-4321"}})


def test_a_failing_run_on_the_worker_is_failed_with_its_reason(failing_run):
    run = failing_run
    assert run.state.type.value == "FAILED"
    assert "daily-sync failed in task ingest" in run.state.message and "refused" in run.state.message


def test_the_report_of_a_run_on_the_worker_is_an_artifact_and_in_audit_runs(failing_run, environment):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter

    from knackhouse import warehouse

    run = failing_run
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[
            "daily-sync-report"])), flow_run_filter=FlowRunFilter(id={"any_": [run.id]}))
    (artifact,) = artifacts
    assert "FAILED" in artifact.data and "refused" in artifact.data
    with closing(warehouse.connect(environment["KNACKHOUSE_DATABASE_URL"])) as conn, conn.cursor() as cur:
        cur.execute("select report from audit.runs order by started_at desc limit 1")
        assert cur.fetchone()[0] == artifact.data


def test_prefect_deploy_with_the_prefect_yaml_registers_the_same_deployment(environment):
    done = subprocess.run([sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--name", "daily", "--pool",
                           POOL], cwd=REPO, env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    deployment = _read_deployment()
    assert deployment.global_concurrency_limit is not None and deployment.global_concurrency_limit.limit == 1
    assert deployment.work_pool_name == POOL
    assert deployment.entrypoint == "flows/daily_sync.py:daily_sync"
    (schedule,) = deployment.schedules  # prefect.yaml's own: the settings' defaults (prefect reads no KNACKHOUSE_*)
    assert (schedule.schedule.cron, schedule.schedule.timezone) == (DEFAULT_CRON, DEFAULT_TIMEZONE)
    (step,) = deployment.pull_steps
    assert step["prefect.deployments.steps.set_working_directory"]["directory"] == str(REPO)


def test_knackhouse_deploy_without_prefect_api_url_exits_2_naming_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(KNACKHOUSE_HOME=str(tmp_path / "home"), PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "knackhouse.cli", "deploy", "--pool", POOL], env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "PREFECT_API_URL is not set" in lines[0] and "Traceback" not in done.stderr
