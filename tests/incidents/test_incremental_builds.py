"""The daily build is incremental (typed intermediate tables read only newer raw loads, students are decided
again only when they or their establishment changed, closed years are not recomputed, the student snapshot
compares only changed records). These tests hold it to what a full rebuild gives, on the incidents harness's
warehouse with history, after ordinary days, a reconcile that retires records deleted in Knack, and a day on
which a school is cancelled and another takes a third school's email domain.
"""

from __future__ import annotations

from typing import Any

import pytest

from simulator.demo_schema import ESTABLISHMENTS, STUDENTS

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
    changed = _change_establishments(pipeline)
    assert _built(pipeline.day(reopen_years=changed["closed_years"]))
    incremental = {"marts": pipeline.snapshot("marts_candidate"), "quarantine": pipeline.query(REJECTED),
                   "reactivated_students": pipeline.scalar(
                       "select count(*) from marts_candidate.dim_students join marts_candidate.dim_establishments"
                       " using (establishment_key) where knack_id = %s", (changed["reactivated"],))}
    retired = pipeline.query("select id from raw_knack.students where _deleted_at is not null order by id")
    typed_ids = pipeline.query("select knack_id from intermediate.int_students_typed order by 1")
    assert _built(pipeline.run(full_refresh=True))
    rebuilt = {"marts": pipeline.snapshot("marts_candidate"), "quarantine": pipeline.query(REJECTED)}
    return {"pipeline": pipeline, "incremental": incremental, "rebuilt": rebuilt, "retired": retired,
            "typed_ids": typed_ids, **changed}


def _built(outcome: Any) -> bool:
    """The run built the candidates: it passed, or its guards held back a publish that moved more rows than
    the history allows (as cancelling or reactivating a school does in an app of eight)."""
    return outcome.exit_code == 0 or outcome.summary.get("failed_task") == "guards"


def _change_establishments(pipeline: Pipeline) -> dict[str, Any]:
    """An operator cancels the school with the fewest accepted students, reactivates a cancelled one and gives
    a third school the email domain that a fourth school's unconnected students were resolved by; no student
    record changes. Closed years keep the results resolved when they closed (and the student-years those
    point at), so the day reopens every year, for the change to reach every year's results."""
    (cancelled,) = pipeline.query(
        "select establishment_knack_id from intermediate.int_students_resolved where establishment_knack_id"
        " is not null group by 1 order by count(*), 1 limit 1")[0]
    (reactivated,) = pipeline.query(
        "select knack_id from intermediate.int_establishments_filtered where not is_kept and not is_deleted"
        " order by knack_id limit 1")[0]
    domain, owner = pipeline.query(
        "select split_part(email, '@', 2), establishment_knack_id from intermediate.int_students_resolved"
        " where establishment_resolution = 'email_domain' and establishment_knack_id <> %s"
        " group by 1, 2 order by count(*) desc, 1 limit 1", (cancelled,))[0]
    (taker,) = pipeline.query(
        "select knack_id from intermediate.int_establishments_filtered where is_kept and knack_id not in (%s, %s)"
        " order by knack_id limit 1", (cancelled, owner))[0]
    table = pipeline.app.tables[ESTABLISHMENTS]
    status, email_domain = table.index["field_2"], table.index["field_5"]
    for record_id, position, value in ((cancelled, status, "Cancelled"), (reactivated, status, "Active"),
                                       (taker, email_domain, domain)):
        row = list(table.rows[record_id])
        row[position] = value
        pipeline.app.touch(ESTABLISHMENTS, record_id, tuple(row))
    closed = [r[0] for r in pipeline.query(
        "select distinct academic_year from intermediate.int_vespa_results_resolved where academic_year is not null"
        " order by 1")]
    return {"cancelled": cancelled, "reactivated": reactivated, "domain": domain, "closed_years": closed}


def test_the_reconcile_day_retired_the_deleted_students(days: dict[str, Any]) -> None:
    assert len(days["retired"]) >= 3


def test_incremental_daily_builds_give_the_marts_a_full_rebuild_gives(days: dict[str, Any]) -> None:
    incremental, rebuilt = days["incremental"]["marts"], days["rebuilt"]["marts"]
    assert incremental.keys() == rebuilt.keys()
    for table in incremental:
        assert incremental[table] == rebuilt[table], f"marts_candidate.{table} differs after a full refresh"


def test_incremental_daily_builds_quarantine_what_a_full_rebuild_quarantines(days: dict[str, Any]) -> None:
    assert days["incremental"]["quarantine"] == days["rebuilt"]["quarantine"]


def test_a_cancelled_school_sends_its_students_to_quarantine_on_the_next_daily_build(days: dict[str, Any]) -> None:
    reasons = {reason for _, _, reason, detail, _ in days["incremental"]["quarantine"] if days["cancelled"] in detail}
    assert reasons >= {"cancelled_establishment"}


def test_a_reactivated_school_publishes_its_students_on_the_next_daily_build(days: dict[str, Any]) -> None:
    assert days["incremental"]["reactivated_students"] > 0


def test_a_domain_two_schools_share_no_longer_resolves_orphans_on_the_next_daily_build(days: dict[str, Any]) -> None:
    unresolved = [detail for _, _, reason, detail, _ in days["incremental"]["quarantine"]
                  if reason == "no_establishment" and f"email domain {days['domain']} " in detail]
    assert unresolved


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


def test_the_establishment_snapshot_keeps_a_cancelled_schools_active_past(days: dict[str, Any]) -> None:
    versions = days["pipeline"].query(
        "select status, dbt_valid_to is null from snapshots.snap_establishments where knack_id = %s"
        " order by dbt_valid_from", (days["cancelled"],))
    assert versions[0] == ("active", False)  # what it was, closed the day the cancellation was seen
    assert versions[-1] == ("cancelled", True)
