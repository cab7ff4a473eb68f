"""Incident 4: a leftover UNIQUE(knack_id) beside UNIQUE(email, academic_year) killed the sync when a school
re-uploaded its students with new Knack ids. knackhouse's grain is the student-year (one normalised email in
one academic year); Knack ids are versions kept in `knack_ids`, so a re-upload changes no key and no count.

Without the daily deletion sweep (KNACKHOUSE_DELETION_SWEEP=false, as here, to replay the incident as it was),
raw holds both versions until a reconcile scan retires the deleted originals: the day's run stops before
publishing and says so (the duplicate share and Knack's count are off). The reconcile run then publishes
the same keys with the new ids. Re-creating a whole school in a day is also flagged by the volume guards;
the operator who expects it sets those checks to warn for the run (KNACKHOUSE_GUARDS_CONFIG), as here.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from simulator.demo_schema import STUDENTS


@pytest.fixture(scope="module")
def reuploaded(module_pipeline_factory, tmp_path_factory):
    pipeline = module_pipeline_factory()
    assert pipeline.run(reconcile=True).exit_code == 0  # deletions of the last days applied first
    config = tmp_path_factory.mktemp("guards") / "guards.yml"
    config.write_text("severity:\n  growth: warn\n  created: warn\n")
    before = dict(pipeline.query("select student_key, knack_ids from marts.dim_students"))
    marts = pipeline.snapshot("marts")
    incident = pipeline.app.trigger("reimport_school")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KNACKHOUSE_GUARDS_CONFIG", str(config))
        pipeline.settings = replace(pipeline.settings, deletion_sweep=False)
        plain = pipeline.run()
        unchanged = pipeline.snapshot("marts") == marts
        reconciled = pipeline.run(reconcile=True)
    return pipeline, before, incident, plain, unchanged, reconciled


def test_the_day_of_the_reupload_stops_before_publishing_and_says_why(reuploaded):
    _, _, incident, plain, unchanged, _ = reuploaded
    assert incident.records > 10
    assert plain.exit_code == 1
    assert "entity.students: duplicate share" in plain.summary["message"]
    assert unchanged


def test_the_reconcile_run_after_a_reupload_succeeds(reuploaded):
    *_, reconciled = reuploaded
    assert reconciled.exit_code == 0, reconciled.summary.get("headline")
    students = reconciled.summary["records_per_object"][STUDENTS]
    assert students["retired"] >= 10


def test_student_keys_are_unchanged_by_the_reupload(reuploaded):
    pipeline, before, *_ = reuploaded
    after = dict(pipeline.query("select student_key, knack_ids from marts.dim_students"))
    assert set(after) == set(before)


def test_reuploaded_student_years_carry_the_new_ids_in_place_of_the_old(reuploaded):
    pipeline, before, incident, *_ = reuploaded
    pairs = list(zip(incident.detail["old_ids"], incident.detail["new_ids"], strict=True))
    after = {key: set(ids) for key, ids in pipeline.query("select student_key, knack_ids from marts.dim_students")}
    key_of_old = {i: key for key, ids in before.items() for i in ids}
    moved = [(old, new) for old, new in pairs if old in key_of_old]
    assert len(moved) > 10
    for old, new in moved:
        assert new in after[key_of_old[old]] and old not in after[key_of_old[old]]


def test_student_years_per_school_and_year_are_exactly_the_ground_truths(ordinary_day):
    """Connected students of active schools, counted by the generator with the same identity rule (HTML, case
    and space variants and re-uploads of one email in one year are one student-year)."""
    pipeline = ordinary_day
    truth = pipeline.app.truth()
    expected = {key: n for key, n in truth.student_years.items() if truth.establishments[key[0]].is_active}
    published = {(school, year): n for school, year, n in pipeline.query(
        "select e.knack_id, s.academic_year, count(*) from marts.dim_students as s"
        " join marts.dim_establishments as e using (establishment_key)"
        " where s.establishment_resolution = 'connection' and s.is_current group by 1, 2")}
    assert published == expected


def test_every_duplicate_version_of_a_student_year_is_collapsed_into_it(ordinary_day):
    pipeline = ordinary_day
    truth = pipeline.app.truth()
    held = {k: n for k, n in pipeline.query(
        "select k, cardinality(knack_ids) from marts.dim_students, unnest(knack_ids) as k")}
    published_duplicates = [k for k in truth.duplicate_student_ids if k in held]
    assert published_duplicates
    assert all(held[k] >= 2 for k in published_duplicates)
