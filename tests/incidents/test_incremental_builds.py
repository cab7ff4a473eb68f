"""The daily build is incremental (typed intermediate tables read only newer raw loads, closed years are not
recomputed, the student snapshot compares only changed records). These tests hold it to what a full rebuild
gives, on the incidents harness's warehouse with history, after ordinary days and a reconcile that retires
records deleted in Knack.
"""

from __future__ import annotations

from typing import Any

import pytest

from simulator.demo_schema import STUDENTS

Pipeline = Any  # tests/incidents/conftest.py

# a full refresh re-reads every record, so only the seen dates (ingest's, not the build's) may move
REJECTED = "select entity, knack_id, reason, detail, first_seen_at from quarantine.rejected_records order by 1, 2, 3"


@pytest.fixture(scope="module")
def days(module_pipeline_factory: Any) -> dict[str, Any]:
    pipeline = module_pipeline_factory()
    assert pipeline.day().exit_code == 0
    deleted = [r[0] for r in pipeline.query("select id from raw_knack.students where _deleted_at is null"
                                            " order by id limit 3")]
    pipeline.app.delete_many(STUDENTS, deleted)  # an operator deletes three students in Knack
    assert pipeline.day(reconcile=True).exit_code == 0
    incremental = {"marts": pipeline.snapshot("marts_candidate"), "quarantine": pipeline.query(REJECTED)}
    retired = pipeline.query("select id from raw_knack.students where _deleted_at is not null order by id")
    typed_ids = pipeline.query("select knack_id from intermediate.int_students_typed order by 1")
    assert pipeline.run(full_refresh=True).exit_code == 0
    rebuilt = {"marts": pipeline.snapshot("marts_candidate"), "quarantine": pipeline.query(REJECTED)}
    return {"pipeline": pipeline, "incremental": incremental, "rebuilt": rebuilt, "retired": retired,
            "typed_ids": typed_ids}


def test_the_reconcile_day_retired_the_deleted_students(days: dict[str, Any]) -> None:
    assert len(days["retired"]) >= 3


def test_incremental_daily_builds_give_the_marts_a_full_rebuild_gives(days: dict[str, Any]) -> None:
    incremental, rebuilt = days["incremental"]["marts"], days["rebuilt"]["marts"]
    assert incremental.keys() == rebuilt.keys()
    for table in incremental:
        assert incremental[table] == rebuilt[table], f"marts_candidate.{table} differs after a full refresh"


def test_incremental_daily_builds_quarantine_what_a_full_rebuild_quarantines(days: dict[str, Any]) -> None:
    assert days["incremental"]["quarantine"] == days["rebuilt"]["quarantine"]


def test_the_typed_students_keep_every_raw_record_deleted_ones_included(days: dict[str, Any]) -> None:
    raw = days["pipeline"].query("select id from raw_knack.students order by id")
    assert days["typed_ids"] == raw


def test_a_student_deleted_in_knack_keeps_its_history_marked_deleted(days: dict[str, Any]) -> None:
    pipeline = days["pipeline"]
    (student,) = days["retired"][0]
    versions = pipeline.query(
        "select is_deleted, dbt_valid_to is null from snapshots.snap_students where knack_id = %s"
        " order by dbt_valid_from", (student,))
    assert versions[0] == (False, False)  # the live version, closed when the deletion was seen
    assert versions[-1] == (True, True)  # the current version says it is deleted


def test_the_student_snapshot_has_one_current_version_per_record(days: dict[str, Any]) -> None:
    pipeline = days["pipeline"]
    assert pipeline.scalar(
        "select count(*) from (select knack_id from snapshots.snap_students where dbt_valid_to is null"
        " group by knack_id having count(*) > 1) d") == 0
    assert pipeline.scalar("select count(distinct knack_id) from snapshots.snap_students") == len(days["typed_ids"])
