"""Incident 1: HTML-wrapped emails (`<a href="mailto:x">x</a>`) stored as the email, duplicating real students.

The demo app wraps 8% of result emails in HTML, pads or mixes the case of others, and the same students
exist with clean emails. knackhouse reads emails from `_raw` or strips and normalises them, so every
modelled email is a bare lower-case address and each student appears once per academic year.
"""

from __future__ import annotations

import re

from simulator import normalise_email
from simulator.demo_schema import R_EMAIL, RESULTS

EMAIL = re.compile(r"^[a-z0-9._%+'-]+@[a-z0-9.-]+\.[a-z]{2,}$")
MODELLED_EMAILS = (
    "select email from marts.dim_students union all select email from marts.dim_staff "
    "union all select s.email from marts.fct_vespa_results r join marts.dim_students s using (student_key)"
)


def test_no_modelled_email_holds_html_case_or_spaces(ordinary_day):
    pipeline = ordinary_day
    emails = [row[0] for row in pipeline.query(MODELLED_EMAILS)]
    assert emails, "the marts hold emails to check"
    bad = [e for e in emails if not EMAIL.match(e)]
    assert bad == []


def test_every_html_wrapped_result_joins_the_student_with_the_clean_email(ordinary_day):
    pipeline = ordinary_day
    truth = pipeline.app.truth()
    html_ids = sorted(truth.html_email_result_ids)
    assert len(html_ids) > 20, "the app holds HTML-wrapped result emails"
    rows = dict(pipeline.query(
        "select r.knack_id, s.email from marts.fct_vespa_results r join marts.dim_students s using (student_key) "
        "where r.knack_id = any(%s)", (html_ids,)))
    results = pipeline.app.tables[RESULTS].rows
    expected = {i: normalise_email(results[i][R_EMAIL]) for i in html_ids if i in rows}
    assert rows == expected
    held_back = pipeline.query(
        "select knack_id, reason, detail from quarantine.rejected_records where knack_id = any(%s)", (html_ids,))
    assert len(rows) + len(held_back) == len(html_ids)
    for knack_id, reason, detail in held_back:  # held back for its school or its student, never for its HTML
        assert reason != "no_email", (knack_id, detail)
        if reason == "unknown_student":
            assert f"no student {normalise_email(results[knack_id][R_EMAIL])} in academic year" in detail, detail


def test_each_student_appears_once_per_academic_year(ordinary_day):
    pipeline = ordinary_day
    truth = pipeline.app.truth()
    published = pipeline.query("select email, academic_year from marts.dim_students")
    assert len(published) == len(set(published))
    active = {key for key, school in truth.student_year_keys.items() if truth.establishments[school].is_active}
    assert active <= set(published)


def test_names_come_from_the_raw_name_parts(ordinary_day):
    pipeline = ordinary_day
    assert pipeline.scalar(
        "select count(*) from marts.dim_students where first_name like '%<%' or last_name like '%<%' "
        "or first_name like '%mailto%'") == 0
    assert pipeline.scalar("select count(*) from marts.dim_students where first_name is not null") > 0
