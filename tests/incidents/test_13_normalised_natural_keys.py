"""Incident 13: look-ups failed on case and spaces, creating rows for "None". knackhouse normalises natural
keys the same way everywhere before any join; a failed look-up is quarantined, never a NULL parent."""

from __future__ import annotations

from simulator import normalise_email
from simulator.demo_schema import S_EMAIL, STUDENTS


def test_case_and_space_variants_are_one_student_year(ordinary_day):
    pipeline = ordinary_day
    truth = pipeline.app.truth()
    duplicates = sorted(truth.duplicate_student_ids)
    assert len(duplicates) > 5
    rows = pipeline.query("select email, knack_ids from marts.dim_students")
    holder = {k: email for email, ids in rows for k in ids}
    students = pipeline.app.tables[STUDENTS].rows
    for student_id in duplicates:
        if student_id in holder:
            assert holder[student_id] == normalise_email(students[student_id][S_EMAIL])
    assert pipeline.scalar("select count(*) from marts.dim_students where email <> lower(trim(email))") == 0


def test_mixed_case_result_emails_link_to_their_student(ordinary_day):
    pipeline = ordinary_day
    truth = pipeline.app.truth()
    published = {tuple(r) for r in pipeline.query(
        "select s.email, r.academic_year, r.cycle from marts.fct_vespa_results r join marts.dim_students s "
        "using (student_key)")}
    quarantined = pipeline.scalar("select count(*) from quarantine.rejected_records where entity = 'vespa_results'")
    assert published <= set(truth.result_keys)
    assert len(published) >= len(truth.result_keys) - quarantined


def test_a_failed_look_up_is_quarantined_never_a_null_parent(ordinary_day):
    pipeline = ordinary_day
    reasons = dict(pipeline.query("select reason, count(*) from quarantine.rejected_records "
                                  "where entity = 'vespa_results' group by 1"))
    assert reasons.get("unknown_student", 0) > 0
    for table, column in (("dim_students", "establishment_key"), ("fct_vespa_results", "student_key"),
                          ("bridge_staff_students", "staff_key"), ("dim_staff", "establishment_key")):
        assert pipeline.scalar(f"select count(*) from marts.{table} where {column} is null") == 0, table
