"""Incident 9: the nightly job died after repeated failures and nobody knew for twelve days. Every failed
knackhouse run alerts, is recorded in audit.runs with the task that failed, and a run that finds the last
good load older than the freshness threshold says so loudly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.receiver import receiving


@pytest.fixture
def receiver(monkeypatch):
    """A local webhook that keeps every alert it receives."""
    with receiving() as webhook:
        monkeypatch.setenv("KNACKHOUSE_ALERT_WEBHOOK", webhook.url())
        yield webhook.bodies


def test_each_failing_day_alerts_and_is_recorded(pipeline, receiver, monkeypatch):
    pipeline.settings = replace(pipeline.settings, knack_api_key="a-rotated-key")
    monkeypatch.setenv("KNACK_API_KEY", "a-rotated-key")
    outcomes = [pipeline.day() for _ in range(3)]
    assert [o.exit_code for o in outcomes] == [3, 3, 3]
    assert len(receiver) == 3
    assert all(a["failed_task"] == "ingest" and "401" in a["message"] for a in receiver)
    statuses = pipeline.query("select status from audit.runs order by started_at desc limit 3")
    assert statuses == [("failed",)] * 3


def test_a_knack_outage_beyond_every_retry_exits_3_alerts_and_changes_nothing(pipeline, receiver, monkeypatch):
    import flows.daily_sync
    import ingest.client
    from simulator import Faults

    monkeypatch.setattr(ingest.client, "MAX_ATTEMPTS", 2)  # the retries are real, only fewer and quicker
    monkeypatch.setattr(ingest.client, "RETRY_BACKOFF_FACTOR", 0.01)
    monkeypatch.setattr(flows.daily_sync, "ingest_task",
                        flows.daily_sync.ingest_task.with_options(retries=1, retry_delay_seconds=0))
    raw, marts = pipeline.snapshot("raw_knack"), pipeline.snapshot("marts")
    pipeline.sim.faults = Faults(error_rate=1.0)
    outcome = pipeline.day()
    assert outcome.exit_code == 3
    assert outcome.summary["failed_task"] == "ingest" and "HTTP 503" in outcome.summary["message"]
    assert pipeline.sim.status_counts[503] >= 2 * 2, "each request tried twice, the task run twice"
    assert receiver and receiver[-1]["failed_task"] == "ingest"
    assert pipeline.snapshot("raw_knack") == raw and pipeline.snapshot("marts") == marts
    assert pipeline.scalar("select status from audit.runs order by started_at desc limit 1") == "failed"


def test_a_stale_warehouse_is_reported_loudly(pipeline, receiver, monkeypatch):
    monkeypatch.setenv("KNACKHOUSE_FRESHNESS_HOURS", "0.0001")
    outcome = pipeline.day()
    assert "last successful load was" in outcome.summary["stale"]
    assert "STALE DATA" in pipeline.report(outcome)
    assert receiver and receiver[-1]["stale"] == outcome.summary["stale"]


def test_the_schedule_is_a_prefect_deployment_with_a_cron():
    from flows.cli import deployment
    from knackhouse.settings import Settings

    deployed = deployment(Settings(home=Path("/tmp")), cron="30 1 * * *", timezone="Europe/London")
    assert deployed.schedules[0].schedule.cron == "30 1 * * *"
    assert deployed.schedules[0].schedule.timezone == "Europe/London"


def test_freshness_is_measured_per_source_by_dbt_and_a_warning_is_not_stale(pipeline, receiver, monkeypatch):
    monkeypatch.setenv("KNACKHOUSE_FRESHNESS_WARN_HOURS", "0")
    outcome = pipeline.day()
    statuses = {f["source"]: f["status"] for f in outcome.summary["freshness"]}
    tables = {row[0] for row in pipeline.query("select table_name from raw_knack._knack_objects")}
    assert set(statuses) == {f"raw_knack.{t}" for t in tables} | {"knackhouse_runs.runs"}
    assert set(statuses.values()) == {"warn"}
    assert outcome.exit_code == 0 and "stale" not in outcome.summary
    assert "STALE DATA" not in pipeline.report(outcome) and not receiver
