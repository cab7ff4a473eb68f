"""Incident 10: each sync overwrote the previous academic year; the archive was re-imported from CSV.
knackhouse freezes closed years as partitions whose content hashes are kept in audit; a normal run can't
change them, whatever Knack now says; reopening a year is an explicit, logged option."""

from __future__ import annotations

from datetime import date

import pytest

from simulator.demo_schema import R_OVERALL, RESULTS, STUDENTS

CLOSED_YEAR = "2023/2024"
HASHES = "select academic_year, content_hash, row_count from audit.frozen_partitions order by 1"
STUDENT_YEAR = "select knack_ids, is_current from marts.dim_students where student_key = %s"
NOT_CURRENT = "select count(*) from marts.dim_students where not is_current"
RESULTS_OF = "select knack_id from marts.fct_vespa_results where student_key = %s order by 1"
DANGLING = ("select count(*) from marts.fct_vespa_results as r left join marts.dim_students as s using (student_key) "
            "where s.student_key is null")


@pytest.fixture
def edited(pipeline):
    """A closed-year result edited in Knack (its score changed, Date Modified touched)."""
    knack_id = pipeline.scalar("select knack_id from marts.fct_vespa_results where academic_year = %s "
                               "order by knack_id limit 1", (CLOSED_YEAR,))
    values = list(pipeline.app.tables[RESULTS].rows[knack_id])
    values[R_OVERALL] = 1 if values[R_OVERALL] != 1 else 2
    pipeline.app.touch(RESULTS, knack_id, tuple(values))
    return pipeline, knack_id, values[R_OVERALL]


@pytest.fixture
def deleted_student(pipeline):
    """Two closed-year students deleted in Knack and retired by a reconcile: one with results in the year's
    frozen partition, one without."""
    picked = {}
    for kind, condition in (("with_results", "exists"), ("without_results", "not exists")):
        picked[kind] = pipeline.query(
            "select s.student_key, s.knack_ids from marts.dim_students as s where s.academic_year = %s"
            f" and cardinality(s.knack_ids) = 1 and {condition} (select from marts.fct_vespa_results as r"
            " where r.student_key = s.student_key) order by 1 limit 1", (CLOSED_YEAR,))[0]
    student_key, knack_ids = picked["with_results"]
    before = {"not_current": pipeline.scalar(NOT_CURRENT), "results": pipeline.query(RESULTS_OF, (student_key,)),
              "without_results": picked["without_results"][0]}
    pipeline.app.delete_many(STUDENTS, [knack_ids[0], picked["without_results"][1][0]])
    outcome = pipeline.run(reconcile=True)
    return pipeline, outcome, student_key, knack_ids, before


def _partition_bytes(pipeline, schema: str) -> tuple:
    """The closed year's partition as stored: its file, the newest transaction that wrote a row, every row."""
    table = f"{schema}.fct_vespa_results__{CLOSED_YEAR.replace('/', '_')}"
    return (pipeline.scalar(f"select pg_relation_filenode('{table}')"),
            pipeline.scalar(f"select max(xmin::text::bigint) from {table}"),
            pipeline.query(f"select * from {table} order by result_key"))


def test_normal_runs_leave_a_closed_year_byte_for_byte_untouched(edited):
    pipeline, knack_id, _ = edited
    hashes = pipeline.query(HASHES)
    stored = {schema: _partition_bytes(pipeline, schema) for schema in ("marts", "marts_candidate")}
    assert {year for year, _, _ in hashes} >= {CLOSED_YEAR, "2024/2025"}
    outcome = pipeline.run()
    assert outcome.exit_code == 0
    assert outcome.summary["records_per_object"][RESULTS]["updated"] >= 1
    assert pipeline.day().exit_code == 0
    assert {schema: _partition_bytes(pipeline, schema) for schema in stored} == stored
    assert pipeline.query(HASHES) == hashes


def test_reopening_the_year_applies_the_change_and_is_logged(edited, caplog):
    pipeline, knack_id, overall = edited
    pipeline.run()
    outcome = pipeline.run(reopen_years=[CLOSED_YEAR])
    assert outcome.exit_code == 0
    assert pipeline.scalar("select overall from marts.fct_vespa_results where knack_id = %s", (knack_id,)) == overall
    assert outcome.summary["options"]["reopen_years"] == [CLOSED_YEAR]
    assert any(f"reopening frozen academic years {CLOSED_YEAR}" in r.getMessage() for r in caplog.records)


def test_the_frozen_partition_check_passes_after_runs(ordinary_day):
    outcome = ordinary_day.outcomes[-1]
    nodes = {n["name"]: n["status"] for n in outcome.summary["dbt_nodes"]}
    assert nodes["test.knackhouse.assert_frozen_partitions_unchanged"] == "pass"


def _has_ended(year: str, today: date) -> bool:
    """The demo mapping: split years start on 1 August, calendar years (Australian schools) on 1 January."""
    first, last = (int(part) for part in year.split("/"))
    return today > date(last, 12, 31) if first == last else today >= date(last, 8, 1)


def test_a_year_is_frozen_only_once_every_day_of_it_has_passed(ordinary_day):
    pipeline = ordinary_day
    years = {year for (year,) in pipeline.query("select distinct academic_year from marts.fct_vespa_results")}
    frozen = {year for (year,) in pipeline.query("select academic_year from audit.frozen_partitions")}
    assert {"2023/2024", "2024/2025", "2025/2026"} <= years
    assert frozen == {year for year in years if _has_ended(year, pipeline.app.today)}
    assert "2025/2026" not in frozen and "2025/2025" not in frozen, "the current years stay open"


def test_a_student_deleted_after_the_year_closed_keeps_the_frozen_results_published(deleted_student):
    pipeline, outcome, student_key, knack_ids, before = deleted_student
    assert outcome.exit_code == 0, outcome.summary.get("headline")
    assert pipeline.scalar("select _deleted_at is not null from raw_knack.students where id = %s", (knack_ids[0],))
    assert pipeline.query(RESULTS_OF, (student_key,)) == before["results"]
    assert pipeline.scalar(DANGLING) == 0


def test_a_student_deleted_after_the_year_closed_keeps_its_student_year_marked_not_current(deleted_student):
    pipeline, _, student_key, knack_ids, before = deleted_student
    assert pipeline.query(STUDENT_YEAR, (student_key,)) == [(knack_ids, False)]
    assert pipeline.scalar(NOT_CURRENT) == before["not_current"] + 1


def test_a_student_deleted_after_the_year_closed_with_no_results_in_it_leaves(deleted_student):
    pipeline, _, _, _, before = deleted_student
    assert pipeline.query(STUDENT_YEAR, (before["without_results"],)) == []


def test_reopening_the_year_lets_a_deleted_students_year_go_and_holds_back_its_results(deleted_student):
    pipeline, _, student_key, _, before = deleted_student
    outcome = pipeline.run(reopen_years=[CLOSED_YEAR])
    assert outcome.exit_code == 0, outcome.summary.get("headline")
    assert pipeline.query(STUDENT_YEAR, (student_key,)) == []
    assert pipeline.scalar(DANGLING) == 0
    held_back = pipeline.query("select knack_id, reason from quarantine.rejected_records where knack_id = any(%s)"
                               " order by 1", ([k for (k,) in before["results"]],))
    assert held_back == [(k, "unknown_student") for (k,) in before["results"]]


def test_a_student_deleted_after_the_year_closed_keeps_its_frozen_results_out_of_quarantine(deleted_student):
    """A reconcile rewrites every raw row; the frozen year's results must not be resolved again (into the
    quarantine, their student-year gone) while its frozen partition keeps publishing them."""
    pipeline, _, _, _, before = deleted_student
    held_back = pipeline.query("select knack_id, reason from quarantine.rejected_records where knack_id = any(%s)",
                               ([k for (k,) in before["results"]],))
    assert held_back == []


def test_a_result_new_to_a_closed_year_is_held_back_not_lost(pipeline):
    """A result created in Knack after its year closed can't enter the frozen partition: it is quarantined as
    `closed_year` (until the year is reopened), never in neither the marts nor the quarantine."""
    knack_id = pipeline.scalar("select knack_id from marts.fct_vespa_results where academic_year = %s "
                               "order by knack_id limit 1", (CLOSED_YEAR,))
    values = pipeline.app.tables[RESULTS].rows[knack_id]
    created = pipeline.app.insert(RESULTS, values, pipeline.app.now)
    pipeline.app.touch(RESULTS, created)  # Date Modified today, as Knack sets it on a new record
    assert pipeline.run().exit_code == 0
    assert pipeline.query("select reason from quarantine.rejected_records where knack_id = %s",
                          (created,)) == [("closed_year",)]
    assert pipeline.scalar("select count(*) from marts.fct_vespa_results where knack_id = %s", (created,)) == 0
