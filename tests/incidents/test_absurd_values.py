"""Absurd values in Knack are never published: each is quarantined or listed as a parse problem, with its reason.

One day on which four records are edited in Knack (the simulator's `set_value`): a student's upload date set
to 9999-12-31, a result's vision score to 1e300 (the scale is 1 to 10), a result's effort to a JSON object, and
a zero-width space pasted into a student's email. Before, the first gave academic year 9999/10000, the second
was published, the third became NULL with no parse problem and the fourth kept its invisible character, so the
student's key and results no longer matched.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from simulator.demo_schema import R_EFFORT, R_VISION, RESULTS, S_EMAIL, S_UPLOAD, STUDENTS

ZERO_WIDTH_SPACE = "\u200b"
CURRENT_STUDENTS = ("select s.knack_ids[1], s.email from marts.dim_students s "
                    "where cardinality(s.knack_ids) = 1 and exists "
                    "(select 1 from marts.fct_vespa_results r where r.student_key = s.student_key) "
                    "order by s.academic_year desc, s.knack_ids[1] limit 2")


@pytest.fixture(scope="module")
def absurd_day(module_pipeline_factory):
    pipeline = module_pipeline_factory()
    app = pipeline.app
    (far_student, _), (spaced_student, email) = pipeline.query(CURRENT_STUDENTS)
    huge_result, object_result = [r[0] for r in pipeline.query(
        "select knack_id from marts.fct_vespa_results order by academic_year desc, knack_id limit 2")]
    students, results = app.tables[STUDENTS], app.tables[RESULTS]
    app.set_value(STUDENTS, far_student, students.fields[S_UPLOAD].key, datetime(9999, 12, 31))
    app.set_value(STUDENTS, spaced_student, students.fields[S_EMAIL].key, email[:3] + ZERO_WIDTH_SPACE + email[3:])
    app.set_value(RESULTS, huge_result, results.fields[R_VISION].key, 1e300)
    app.set_value(RESULTS, object_result, results.fields[R_EFFORT].key, {"score": 7})
    outcome = pipeline.day()
    assert outcome.exit_code == 0, outcome.summary.get("headline")
    return pipeline, {"far_student": far_student, "spaced_student": spaced_student, "email": email,
                      "huge_result": huge_result, "object_result": object_result,
                      "effort_field": results.fields[R_EFFORT].key}


def test_an_upload_date_in_9999_is_quarantined_not_given_a_year(absurd_day):
    pipeline, ids = absurd_day
    assert pipeline.scalar("select count(*) from marts.dim_students where academic_year like '9999%'") == 0
    assert pipeline.scalar("select count(*) from marts.dim_students where %s = any(knack_ids)",
                           (ids["far_student"],)) == 0
    (reason, detail), = pipeline.query("select reason, detail from quarantine.rejected_records "
                                       "where entity = 'students' and knack_id = %s", (ids["far_student"],))
    assert reason == "implausible_date"
    assert "upload date 9999-12-31 is outside the plausible window 2000-01-01 to" in detail


def test_a_score_of_1e300_on_a_1_to_10_scale_is_quarantined(absurd_day):
    pipeline, ids = absurd_day
    assert pipeline.scalar("select count(*) from marts.fct_vespa_results where knack_id = %s",
                           (ids["huge_result"],)) == 0
    assert pipeline.scalar("select max(greatest(vision, effort, systems, practice, attitude, overall)) "
                           "from marts.fct_vespa_results") <= 10
    (reason, detail), = pipeline.query("select reason, detail from quarantine.rejected_records "
                                       "where entity = 'vespa_results' and knack_id = %s", (ids["huge_result"],))
    assert (reason, detail) == ("score_out_of_scale", "scores outside the scale 1 to 10: vision 1.00e+300")


def test_a_json_object_in_a_number_field_is_a_parse_problem(absurd_day):
    pipeline, ids = absurd_day
    problems = pipeline.query("select field_key, raw_value, reason from staging.stg_knack__parse_problems "
                              "where knack_id = %s", (ids["object_result"],))
    assert problems == [(ids["effort_field"], '{"score": 7}', "not a number")]
    assert pipeline.scalar("select effort from marts.fct_vespa_results where knack_id = %s",
                           (ids["object_result"],)) is None


def test_a_zero_width_space_is_removed_before_emails_are_compared(absurd_day):
    pipeline, ids = absurd_day
    assert pipeline.query("select email from marts.dim_students where %s = any(knack_ids)",
                          (ids["spaced_student"],)) == [(ids["email"],)]
    assert pipeline.scalar("select count(*) from marts.dim_students where email like %s",
                           (f"%{ZERO_WIDTH_SPACE}%",)) == 0
    held = pipeline.query("select knack_id, reason from quarantine.rejected_records where detail like %s",
                          (f"%{ids['email'][:3]}{ZERO_WIDTH_SPACE}%",))
    assert held == [], "no record is held back for the invisible character"
