"""Incident 2: 19% of students had no school. knackhouse resolves a student's school from its connection,
else from an email domain that belongs to exactly one school (marked), else quarantines it with a reason;
nothing is published with a NULL parent, and a jump in the orphan share stops the publish."""

from __future__ import annotations


def test_every_orphan_is_resolved_by_domain_or_quarantined_with_its_reason(ordinary_day):
    pipeline = ordinary_day
    truth = pipeline.app.truth()
    assert len(truth.orphans) > 10
    quarantined = dict(pipeline.query(
        "select knack_id, reason from quarantine.rejected_records where entity = 'students' and knack_id = any(%s)",
        (list(truth.orphans),)))
    by_domain = {r[0] for r in pipeline.query(
        "select k from marts.dim_students, unnest(knack_ids) k where establishment_resolution = 'email_domain'")}
    for student_id, reason in truth.orphans.items():
        if student_id in by_domain:
            assert student_id in truth.orphan_domain_matches
        else:
            assert quarantined.get(student_id) == reason, student_id


def test_every_orphan_whose_domain_names_one_active_school_is_published_there_marked(ordinary_day):
    pipeline = ordinary_day
    truth = pipeline.app.truth()
    expected = {student_id: school for student_id, school in truth.orphan_domain_matches.items()
                if truth.establishments[school].is_active}
    assert len(expected) > 5
    published = dict(pipeline.query(
        "select k, e.knack_id from marts.dim_students as s join marts.dim_establishments as e"
        " using (establishment_key),"
        " unnest(s.knack_ids) as k where s.establishment_resolution = 'email_domain' and s.is_current"))
    assert published == expected


def test_a_quarantined_orphan_says_why_and_when_it_was_seen(ordinary_day):
    pipeline = ordinary_day
    truth = pipeline.app.truth()
    held = pipeline.query(
        "select knack_id, reason, detail, first_seen_at, last_seen_at from quarantine.rejected_records"
        " where entity = 'students' and knack_id = any(%s)", (list(truth.orphans),))
    assert held
    for knack_id, reason, detail, first_seen, last_seen in held:
        assert reason == truth.orphans[knack_id]
        assert detail and first_seen is not None and last_seen >= first_seen, knack_id


def test_no_published_row_has_a_null_parent(ordinary_day):
    pipeline = ordinary_day
    assert pipeline.scalar("select count(*) from marts.dim_students where establishment_key is null") == 0
    assert pipeline.scalar("select count(*) from marts.fct_vespa_results where student_key is null "
                           "or establishment_key is null") == 0
    assert pipeline.scalar("select count(*) from marts.dim_students s left join marts.dim_establishments e "
                           "using (establishment_key) where e.establishment_key is null") == 0


def test_an_orphan_spike_stops_the_publish_and_names_the_share(pipeline):
    before = pipeline.snapshot("marts")
    pipeline.app.trigger("orphan_spike")
    outcome = pipeline.run()
    assert outcome.exit_code == 1
    assert outcome.summary["failed_task"] == "guards"
    tripped = [g for g in outcome.summary["guard_results"] if g["kind"] == "orphan_share" and not g["passed"]]
    assert tripped and tripped[0]["observed"] > tripped[0]["upper"]
    assert "orphan share" in outcome.summary["message"]
    assert pipeline.snapshot("marts") == before
