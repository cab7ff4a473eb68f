"""Incident 5: the parser expected DD/MM/YYYY, Knack sent DD/MM/YYYY HH:MM, and the fallback was "now", so
records landed in the wrong academic year. knackhouse reads dates from Knack's structured raw parts in the
app's time zone; an unparseable date is NULL plus a parse problem (tests/staging), never "now"."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

from simulator import academic_year
from simulator.demo_schema import R_COMPLETED, R_ESTABLISHMENT, RESULTS

LONDON = ZoneInfo("Europe/London")


def _boundary_results(pipeline):
    truth = pipeline.app.truth()
    rows = pipeline.app.tables[RESULTS].rows
    published = {r[0]: r[1:] for r in pipeline.query(
        "select knack_id, academic_year, completed_at from marts.fct_vespa_results where knack_id = any(%s)",
        (sorted(truth.boundary_result_ids),))}
    return truth, rows, published


def test_results_at_the_turn_of_the_year_land_in_the_year_of_their_own_minute(ordinary_day):
    pipeline = ordinary_day
    truth, rows, published = _boundary_results(pipeline)
    assert len(published) >= 3, "boundary results (23:xx on 31 July, 00:xx on 1 August) are published"
    for knack_id, (year, _) in published.items():
        completed = rows[knack_id][R_COMPLETED]
        school = truth.establishments[rows[knack_id][R_ESTABLISHMENT][0]]
        assert year == academic_year(completed.date(), school.year_start), (knack_id, completed)


def test_completion_times_are_the_true_instant_in_the_apps_time_zone(ordinary_day):
    pipeline = ordinary_day
    _, rows, published = _boundary_results(pipeline)
    for knack_id, (_, completed_at) in published.items():
        wall = rows[knack_id][R_COMPLETED]
        assert completed_at == wall.replace(tzinfo=LONDON).astimezone(UTC), knack_id


def test_no_date_is_defaulted_to_the_run_time(ordinary_day):
    pipeline = ordinary_day
    today = pipeline.app.today
    assert pipeline.scalar("select count(*) from marts.fct_vespa_results where completed_at::date > %s",
                           (today,)) == 0
    assert pipeline.scalar("select count(*) from marts.fct_vespa_results where completed_at is null") == 0
