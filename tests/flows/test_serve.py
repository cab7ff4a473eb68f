"""`knackhouse serve`: one deployment on the configured cron; what it prints with and without a Prefect server."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flows.cli import deployment
from knackhouse.settings import Settings
from tests.conftest import stop_process_group, wait_until

REPO = Path(__file__).resolve().parents[2]


def test_deployment_defaults_to_two_am_utc(tmp_path) -> None:
    deployed = deployment(Settings(home=tmp_path))
    (schedule,) = deployed.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *", "UTC")
    assert deployed.flow_name == "daily-sync"


def test_the_served_deployment_takes_the_settings_schedule_and_runs_one_at_a_time(tmp_path) -> None:
    settings = Settings.from_env({"KNACKHOUSE_HOME": str(tmp_path), "KNACKHOUSE_CRON": "5 4 * * *",
                                  "KNACKHOUSE_TIMEZONE": "Europe/Paris"})
    deployed = deployment(settings)
    (schedule,) = deployed.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("5 4 * * *", "Europe/Paris")
    assert deployed.concurrency_limit == 1


def test_deployment_takes_cron_and_timezone(tmp_path) -> None:
    deployed = deployment(Settings(home=tmp_path), "30 5 * * 1-5", "Europe/London")
    (schedule,) = deployed.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("30 5 * * 1-5", "Europe/London")


def _serve_until(tmp_path, env: dict[str, str], marker: str, *args: str) -> str:
    """Start `knackhouse serve`, wait for `marker` on its stdout, stop it; returns what it printed."""
    out = tmp_path / "serve.out"
    with out.open("w") as stdout:
        process = subprocess.Popen([sys.executable, "-m", "knackhouse.cli", "serve", *args], env=env, stdout=stdout,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def printed() -> str | None:
            text = out.read_text()
            if process.poll() is not None:
                raise AssertionError(f"knackhouse serve exited with {process.returncode}: {text[-3000:]}")
            return text if marker in text else None

        return wait_until(printed, 240, f"{marker!r} from knackhouse serve")
    finally:
        stop_process_group(process)


def test_serve_without_a_server_prints_the_next_three_run_times(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(KNACKHOUSE_HOME=str(tmp_path / "home"), PYTHONPATH=str(REPO), KNACKHOUSE_TIMEZONE="Europe/London")
    text = _serve_until(tmp_path, env, "next runs:", "--cron", "30 5 * * *")
    line = next(line for line in text.splitlines() if "next runs:" in line)
    times = [datetime.fromisoformat(t) for t in line.split("next runs: ")[1].split(", ")]
    london = [t.astimezone(ZoneInfo("Europe/London")) for t in times]
    assert len(times) == 3 and all((t.hour, t.minute) == (5, 30) for t in london)
    assert [(b.date() - a.date()).days for a, b in zip(london, london[1:], strict=False)] == [1, 1]
    assert datetime.now(UTC) < times[0] <= datetime.now(UTC) + timedelta(days=1)


def test_serve_with_a_server_prints_the_deployment_url(prefect_harness, tmp_path) -> None:
    from prefect import get_client

    env = {**os.environ, "PREFECT_API_URL": prefect_harness, "KNACKHOUSE_HOME": str(tmp_path / "home"),
           "PYTHONPATH": str(REPO)}
    text = _serve_until(tmp_path, env, "deployment daily-sync/daily: http")
    with get_client(sync_client=True) as client:
        served = client.read_deployment_by_name("daily-sync/daily")
    assert f"/deployments/deployment/{served.id}" in text
    assert prefect_harness.removesuffix("/api") in text
