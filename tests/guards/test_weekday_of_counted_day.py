"""The creations guard compares a day with past days of its own kind: the day counted, not the run's as-of day.

A run as of day D counts the records created on D - 1, and each stored value is keyed by its run's as-of
day. Labelling the history by the as-of day compared a quiet Saturday (counted on Sunday) with past Fridays
(counted on Saturdays), and failed the publish.
"""

from __future__ import annotations

from contextlib import closing
from datetime import date, timedelta

from expectations.config import load_guard_config
from expectations.guards import plan_checks
from expectations.metrics import DDL, Metric
from knackhouse.warehouse import connect

TABLE = "raw_knack.results"
FIRST_AS_OF = date(2025, 10, 6)  # a Monday: its run counts Sunday 5 October


def _history(database_url: str, weeks: int) -> None:
    """Passing runs with busy weekdays (30 created) and quiet weekends (0), keyed by as-of day."""
    with closing(connect(database_url)) as conn, conn.cursor() as cur:
        cur.execute(DDL)
        for n in range(weeks * 7):
            as_of = FIRST_AS_OF + timedelta(days=n)
            counted = as_of - timedelta(days=1)
            created = 0.0 if counted.weekday() >= 5 else 30.0
            run_id = f"run-{as_of}"
            cur.execute("insert into audit.guard_runs (run_id, as_of, passed) values (%s, %s, true)", (run_id, as_of))
            cur.execute("insert into audit.table_metrics (run_id, as_of, table_name, metric, value) "
                        "values (%s, %s, %s, 'created', %s)", (run_id, as_of, TABLE, created))
        conn.commit()


def test_a_quiet_saturday_is_bounded_by_past_weekends_not_fridays(database_url: str) -> None:
    _history(database_url, weeks=3)
    sunday = FIRST_AS_OF + timedelta(days=3 * 7 - 1)  # as of Sunday 26 October: counts Saturday 25th
    assert sunday.weekday() == 6
    config = load_guard_config()
    with closing(connect(database_url)) as conn:
        planned = plan_checks(conn, [Metric(TABLE, "created", 0.0)], sunday, config)
    (check,) = [p for p in planned if p.kind == "created"]
    assert check.name == f"{TABLE} created on {sunday - timedelta(days=1)}"
    assert check.bounds.basis.endswith("weekends"), check.bounds.basis
    assert check.bounds.centre == 0.0
    assert check.bounds.lower <= 0.0 <= check.bounds.upper, (check.bounds, "0 on a quiet Saturday is ordinary")

