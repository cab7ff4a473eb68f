"""The scheduled full reconcile: due every `reconcile_every_days`, run only when it fits today's request budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingest import audit
from ingest.reconcile_schedule import plan_reconcile
from knackhouse.warehouse import connect

NOW = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)


def warehouse_with(database_url: str, live_rows: int, loads: list[tuple[str, datetime, str, str | None]]) -> None:
    """raw with one object of `live_rows` live rows, and `audit.object_loads` rows (object, started, mode, status)."""
    audit.ensure_table(database_url)
    connection = connect(database_url, autocommit=True)
    with connection.cursor() as cursor:
        cursor.execute("create schema raw_knack;"
                       " create table raw_knack._knack_objects (object_key text, table_name text);"
                       " insert into raw_knack._knack_objects values ('object_1', 'things');"
                       " create table raw_knack.things (id text, _deleted_at timestamptz);"
                       " insert into raw_knack.things select g::text, null from generate_series(1, %s) g", (live_rows,))
    connection.close()
    audit.record(database_url, [{
        "run_id": f"r{n}", "object_key": key, "table_name": "things", "mode": mode, "status": "ok", "dry_run": False,
        "requests": 3, "pages": 3, "records": 0, "inserted": 0, "updated": 0, "retired": 0, "unretired": 0,
        "total_records": None, "full_scan": mode != "incremental", "modified_field": None, "reconcile_status": status,
        "note": None, "cursor_before": None, "cursor_after": None, "metadata_requests": 1, "started_at": started,
        "finished_at": started, "sweep_status": None, "sweep_requests": 0, "sweep_retired": 0,
    } for n, (key, started, mode, status) in enumerate(loads)])


def test_a_reconcile_is_due_a_week_after_the_first_load_and_runs_when_it_fits(database_url) -> None:
    warehouse_with(database_url, 2500, [("object_1", NOW - timedelta(days=8), "full", None),
                                        ("object_1", NOW - timedelta(days=1), "incremental", None)])
    decision = plan_reconcile(database_url, NOW, every_days=7, budget=5000)
    assert decision.due and decision.run, decision.reason
    assert 4 <= decision.estimated_requests <= 6, "3 pages, the scan's end count, the metadata call"


def test_a_reconcile_is_not_due_within_the_cadence_of_the_last_complete_one(database_url) -> None:
    warehouse_with(database_url, 10, [("object_1", NOW - timedelta(days=30), "full", None),
                                      ("object_1", NOW - timedelta(days=3), "reconcile", "complete"),
                                      ("object_1", NOW - timedelta(days=2), "reconcile", "skipped: pages moved")])
    decision = plan_reconcile(database_url, NOW, every_days=7, budget=5000)
    assert not decision.due and not decision.run
    assert "in 4.0 days" in decision.reason


def test_a_reconcile_left_incomplete_stays_due(database_url) -> None:
    warehouse_with(database_url, 10, [("object_1", NOW - timedelta(days=9), "reconcile", "complete"),
                                      ("object_1", NOW - timedelta(days=1), "reconcile", "skipped: pages moved")])
    assert plan_reconcile(database_url, NOW, every_days=7, budget=5000).run


def test_a_reconcile_that_does_not_fit_the_days_budget_moves_to_the_next_day(database_url) -> None:
    warehouse_with(database_url, 40_000, [("object_1", NOW - timedelta(days=8), "full", None)])
    decision = plan_reconcile(database_url, NOW, every_days=7, budget=30)
    assert decision.due and not decision.run
    assert "moved to the next day" in decision.reason and "budget of 30" in decision.reason


def test_no_reconcile_is_planned_before_the_first_load_or_when_turned_off(database_url) -> None:
    assert not plan_reconcile(database_url, NOW, every_days=7, budget=5000).due
    warehouse_with(database_url, 10, [("object_1", NOW - timedelta(days=80), "full", None)])
    assert not plan_reconcile(database_url, NOW, every_days=0, budget=5000).due


def test_bad_sweep_and_cadence_settings_are_clear_config_errors() -> None:
    import pytest

    from knackhouse.errors import ConfigError
    from knackhouse.settings import Settings

    assert Settings.from_env({}).reconcile_every_days == 7 and Settings.from_env({}).deletion_sweep
    settings = Settings.from_env({"KNACKHOUSE_RECONCILE_EVERY_DAYS": "14", "KNACKHOUSE_DELETION_SWEEP": "off"})
    assert (settings.reconcile_every_days, settings.deletion_sweep) == (14, False)
    with pytest.raises(ConfigError, match="KNACKHOUSE_RECONCILE_EVERY_DAYS must be a whole number"):
        Settings.from_env({"KNACKHOUSE_RECONCILE_EVERY_DAYS": "weekly"})
    with pytest.raises(ConfigError, match="KNACKHOUSE_DELETION_SWEEP must be true or false"):
        Settings.from_env({"KNACKHOUSE_DELETION_SWEEP": "maybe"})
