"""The run report a person reads."""

from __future__ import annotations

from pathlib import Path

from flows import report

SUMMARY = {
    "run_id": "run-1", "status": "failed", "headline": "guard tripped; nothing published",
    "failed_task": "guards", "message": "dim_students row count fell 60%", "unchanged": "marts",
    "api_requests": 9,
    "records_per_object": {"object_1": {"table_name": "students", "requests": 3, "inserted": 5, "updated": 2,
                                        "retired": 1}},
    "rows_per_mart": {"dim_students": 120}, "quarantined": {"missing_email": 4},
    "guard_results": [{"name": "row_count_drop", "severity": "error", "passed": False, "observed": "-60%"}],
    "step_seconds": {"ingest": 1.25},
}


def test_report_names_the_failed_task_and_what_was_left_unchanged() -> None:
    text = report.render(SUMMARY)
    assert "failed task: `guards`" in text and "left unchanged: marts" in text


def test_report_lists_objects_marts_quarantine_and_guards() -> None:
    text = report.render(SUMMARY)
    assert "| object_1 | students | 3 |" in text
    assert "| dim_students | 120 |" in text
    assert "| missing_email | 4 |" in text
    assert "| row_count_drop | error | False | -60% |" in text


def test_written_report_redacts_the_api_key(tmp_path: Path) -> None:
    leaky = {**SUMMARY, "message": "GET failed with key sekret-key-123"}
    path = report.write(tmp_path, leaky, ["sekret-key-123"])
    assert "sekret-key-123" not in path.read_text()
    assert "sekret-key-123" not in path.with_suffix(".json").read_text()
    assert report.REDACTED in path.read_text()


def test_report_shows_what_each_business_filter_kept_and_dropped() -> None:
    text = report.render({**SUMMARY, "business_filters": [
        {"filter_name": "coaching_portal_establishments", "rows_in": 140, "rows_kept": 93, "rows_dropped": 47,
         "rows_empty": 12}]})
    assert "| coaching_portal_establishments | 140 | 93 | 47 | 12 |" in text
