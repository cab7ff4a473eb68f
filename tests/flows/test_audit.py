"""audit.runs records each run and answers the freshness check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flows import audit
from knackhouse.warehouse import connect


def test_finished_run_is_recorded_with_its_figures(database_url: str) -> None:
    start = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    audit.record_start(database_url, "r1", start, dry_run=False)
    audit.record_finish(database_url, "r1", start + timedelta(minutes=3), {
        "status": "success", "api_requests": 12,
        "records_per_object": {"object_1": {"inserted": 4}}, "rows_per_mart": {"dim_students": 40},
    })
    conn = connect(database_url)
    with conn.cursor() as cur:
        cur.execute("select status, api_requests, rows_per_mart from audit.runs where run_id = 'r1'")
        assert cur.fetchone() == ("success", 12, {"dim_students": 40})
    conn.close()


def test_crashed_run_stays_visible_as_running(database_url: str) -> None:
    audit.record_start(database_url, "r2", datetime.now(UTC), dry_run=False)
    assert audit.last_success(database_url) is None


def test_a_killed_run_is_marked_killed_by_the_next_run(database_url: str) -> None:
    audit.record_start(database_url, "killed", datetime(2026, 1, 5, 2, 0, tzinfo=UTC), dry_run=False)
    audit.record_start(database_url, "next", datetime(2026, 1, 6, 2, 0, tzinfo=UTC), dry_run=False)
    conn = connect(database_url)
    with conn.cursor() as cur:
        cur.execute("select run_id, status, coalesce(message like '%killed%', false) from audit.runs "
                    "order by started_at")
        assert cur.fetchall() == [("killed", "killed", True), ("next", "running", False)]
    conn.close()


def test_last_success_is_when_the_newest_successful_run_finished(database_url: str) -> None:
    start = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
    audit.record_start(database_url, "r3", start, dry_run=False)
    audit.record_finish(database_url, "r3", start + timedelta(hours=1), {"status": "success"})
    audit.record_start(database_url, "r4", start + timedelta(hours=30), dry_run=False)
    audit.record_finish(database_url, "r4", start + timedelta(hours=31), {"status": "failed"})
    assert audit.last_success(database_url) == start + timedelta(hours=1)
