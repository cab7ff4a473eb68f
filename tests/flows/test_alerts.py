"""Alerts through Apprise URLs: every target gets the run's outcome; one that is down stops neither the others
nor the run. A local HTTP receiver stands in for Slack, Teams, ntfy or a JSON endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from flows.alerts import check_urls, send_alerts
from flows.daily_sync import RunOptions, run_flow
from knackhouse.errors import ConfigError
from knackhouse.settings import Settings
from simulator import DemoApp, SimulatorServer
from tests.conftest import free_port, read_flow_run, wait_until
from tests.receiver import receiving


@pytest.fixture
def receiver() -> Iterator[tuple[int, list[tuple[str, dict]]]]:
    """An HTTP server on a free port recording each POST (path, JSON body); shut down after the test."""
    with receiving() as webhook:
        yield webhook.port, webhook.posts


def test_every_target_gets_the_alert_when_one_is_unreachable(receiver) -> None:
    port, received = receiver
    down = free_port()
    urls = [f"json://127.0.0.1:{port}/first", f"json://127.0.0.1:{down}/down", f"http://127.0.0.1:{port}/webhook"]
    summary = {"headline": "daily-sync failed in task guards: students grew x40", "status": "failed",
               "run_id": "r1", "report": "/reports/r1.md"}
    results = send_alerts(urls, summary)
    assert results == {f"json://127.0.0.1:{port}": True, f"json://127.0.0.1:{down}": False,
                       f"http://127.0.0.1:{port}": True}
    bodies = dict(received)
    assert "students grew x40" in bodies["/first"]["message"] and bodies["/first"]["type"] == "failure"
    assert bodies["/webhook"]["text"] == summary["headline"], "a plain webhook keeps its JSON POST"


def test_alert_urls_are_comma_or_space_separated_and_the_webhook_is_one_of_them(tmp_path) -> None:
    env = {"KNACKHOUSE_HOME": str(tmp_path), "KNACKHOUSE_ALERT_URLS": "slack://a/b/c, ntfy://topic  json://h/x",
           "KNACKHOUSE_ALERT_WEBHOOK": "https://example.com/hook"}
    assert Settings.from_env(env).alert_urls == ("slack://a/b/c", "ntfy://topic", "json://h/x",
                                                 "https://example.com/hook")


def test_an_alert_url_no_service_knows_is_refused_before_the_run() -> None:
    with pytest.raises(ConfigError, match=r"alert target 2 \(slak://hooks\) is not a URL Apprise knows"):
        check_urls(["ntfy://topic", "slak://hooks/secret-token"])


def test_a_failed_run_alerts_and_an_unreachable_target_does_not_change_its_exit(
        prefect_harness, receiver, database_url, tmp_path, monkeypatch) -> None:
    port, received = receiver
    monkeypatch.setenv("KNACKHOUSE_ALERT_URLS", f"json://127.0.0.1:{free_port()}/down json://127.0.0.1:{port}/ok")
    with SimulatorServer(DemoApp(scale=0.005, seed=5)) as sim:
        settings = Settings(home=tmp_path / "home", knack_app_id=sim.app_id, knack_api_key="wrong-key-5555",
                            knack_api_url=sim.base_url)
        outcome = run_flow(settings, database_url, RunOptions())
    assert outcome.exit_code == 3, outcome.summary.get("headline")
    assert read_flow_run(outcome.summary["flow_run_id"]).state.type.value == "FAILED"
    wait_until(lambda: received, 30, "the alert at the receiver")
    ((path, body),) = received
    assert path == "/ok" and "daily-sync failed in task ingest" in body["message"]
    assert "wrong-key-5555" not in json.dumps(body)


def test_an_unreachable_target_does_not_fail_a_run_that_alerts_and_succeeds(
        prefect_harness, receiver, database_url, tmp_path, monkeypatch) -> None:
    port, received = receiver
    monkeypatch.setenv("KNACKHOUSE_ALERT_URLS", f"json://127.0.0.1:{free_port()}/down json://127.0.0.1:{port}/ok")
    with SimulatorServer(DemoApp(scale=0.005, seed=5)) as sim:
        settings = Settings(home=tmp_path / "home", knack_app_id=sim.app_id, knack_api_key=sim.api_key,
                            knack_api_url=sim.base_url, daily_request_budget=1)  # objects postponed: an alert
        outcome = run_flow(settings, database_url, RunOptions())
    assert outcome.exit_code == 0, outcome.summary.get("headline")
    assert read_flow_run(outcome.summary["flow_run_id"]).state.type.value == "COMPLETED"
    wait_until(lambda: received, 30, "the alert at the receiver")
    ((path, body),) = received
    assert path == "/ok" and "postponed" in body["message"]
