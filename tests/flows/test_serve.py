"""`knackhouse serve` builds one deployment with the configured cron, without blocking."""

from __future__ import annotations

from flows.cli import deployment
from knackhouse.settings import Settings


def test_deployment_defaults_to_two_am_utc(tmp_path) -> None:
    deployed = deployment(Settings(home=tmp_path))
    (schedule,) = deployed.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *", "UTC")
    assert deployed.flow_name == "daily-sync"


def test_deployment_takes_cron_and_timezone(tmp_path) -> None:
    deployed = deployment(Settings(home=tmp_path), "30 5 * * 1-5", "Europe/London")
    (schedule,) = deployed.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("30 5 * * 1-5", "Europe/London")
