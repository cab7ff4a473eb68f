"""Incident 6: the academic year was computed from the run date, re-labelling history as the current year.
knackhouse takes the year from each record's own date, with the start day per establishment (Australian
schools follow the calendar year), whatever day the run happens on."""

from __future__ import annotations

from collections import Counter
from datetime import date

from simulator import academic_year
from simulator.demo_schema import R_COMPLETED, R_ESTABLISHMENT, RESULTS


def _published_years(pipeline):
    return dict(pipeline.query("select knack_id, academic_year from marts.fct_vespa_results"))


def test_every_result_is_in_the_year_of_its_completion_date(ordinary_day):
    pipeline = ordinary_day
    truth = pipeline.app.truth()
    rows = pipeline.app.tables[RESULTS].rows
    published = _published_years(pipeline)
    assert len(published) > 1000
    wrong = {k: y for k, y in published.items()
             if y != academic_year(rows[k][R_COMPLETED].date(),
                                   truth.establishments[rows[k][R_ESTABLISHMENT][0]].year_start)}
    assert wrong == {}
    assert len({y for y in published.values()}) >= 3


def test_a_run_dated_in_2026_keeps_2024_results_in_their_own_years(pipeline):
    pipeline.app.advance(1)
    outcome = pipeline.run(as_of=date(2026, 3, 2))
    assert outcome.exit_code in (0, 1), outcome.summary.get("headline")
    years = Counter(y for (y,) in pipeline.query("select academic_year from marts_candidate.fct_vespa_results"))
    assert years["2023/2024"] > 0 and years["2024/2025"] > 0
    assert set(years) <= {"2023/2024", "2024/2025", "2025/2026", "2023/2023", "2024/2024", "2025/2025"}


def test_australian_schools_get_calendar_years(ordinary_day):
    pipeline = ordinary_day
    truth = pipeline.app.truth()
    australian = [e.id for e in truth.establishments.values() if e.year_start == "01-01"]
    assert australian, "the demo app has Australian schools"
    labelled = pipeline.query(
        "select academic_year, completed_date from intermediate.int_vespa_results_resolved "
        "where connected_knack_id = any(%s)", (australian,))
    assert labelled
    assert all(year == f"{day.year}/{day.year}" for year, day in labelled)
