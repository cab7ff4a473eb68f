"""Incident 12: a re-import gave every record a new id and left references pointing at ids that no longer
existed. knackhouse's keys are hashes of natural keys, so a full re-import keeps every key and every link.

Re-creating every student in one day is flagged by the creation guard; the operator who runs the re-import
sets that check to warn for the run (KNACKHOUSE_GUARDS_CONFIG), as here.
"""

from __future__ import annotations

import pytest

from simulator.demo_schema import STUDENTS


@pytest.fixture(scope="module")
def reimported(module_pipeline_factory, tmp_path_factory):
    pipeline = module_pipeline_factory()
    config = tmp_path_factory.mktemp("guards") / "guards.yml"
    config.write_text("severity:\n  created: warn\n")
    assert pipeline.run(reconcile=True).exit_code == 0  # deletions of the last days applied first
    keys = {t: pipeline.query(sql) for t, sql in KEYS.items()}
    incident = pipeline.app.trigger("full_reimport", object_key=STUDENTS)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KNACKHOUSE_GUARDS_CONFIG", str(config))
        outcome = pipeline.run(reconcile=True)
    return pipeline, keys, incident, outcome


KEYS = {
    "dim_students": "select student_key, establishment_key from marts.dim_students order by 1",
    "fct_vespa_results": "select result_key, student_key from marts.fct_vespa_results order by 1",
    "bridge_staff_students": "select staff_key, student_key from marts.bridge_staff_students order by 1, 2",
}


def test_the_reimport_run_succeeds(reimported):
    _, _, incident, outcome = reimported
    assert incident.records > 1000
    assert outcome.exit_code == 0, outcome.summary.get("headline")


def test_every_key_and_link_is_unchanged(reimported):
    pipeline, keys, _, _ = reimported
    for table, sql in KEYS.items():
        assert pipeline.query(sql) == keys[table], table


def test_knack_ids_carry_the_new_ids_only(reimported):
    pipeline, _, incident, _ = reimported
    mapping = incident.detail["new_ids"]
    published = {k for (k,) in pipeline.query("select unnest(knack_ids) from marts.dim_students")}
    assert published and published <= set(mapping.values())
    assert not published & set(mapping)


def test_no_reference_dangles(reimported):
    pipeline, _, _, _ = reimported
    assert pipeline.scalar("select count(*) from marts.fct_vespa_results r left join marts.dim_students s "
                           "using (student_key) where s.student_key is null") == 0
    assert pipeline.scalar("select count(*) from marts.bridge_staff_students b left join marts.dim_students s "
                           "using (student_key) where s.student_key is null") == 0
