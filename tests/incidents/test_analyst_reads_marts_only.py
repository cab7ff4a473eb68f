"""The read-only analyst role reads the published marts and nothing else: not what dlt loaded, not the typed
staging, not a candidate the guards have not passed, not the quarantine or the audit trail."""

from __future__ import annotations

from contextlib import closing

import pytest
from psycopg2 import errors

from knackhouse import warehouse

ANALYST = "knackhouse_analyst"
MARTS = ["dim_establishments", "dim_students", "dim_staff", "bridge_staff_students", "fct_vespa_results"]
HIDDEN = ["raw_knack.students", "staging.stg_knack__students", "intermediate.int_students_resolved",
          "marts_candidate.dim_students", "quarantine.rejected_records", "audit.runs",
          "snapshots.snap_students"]


def _select_as_analyst(pipeline, table: str) -> int:
    with closing(warehouse.connect(pipeline.database_url)) as conn, conn.cursor() as cur:
        cur.execute(f"set role {ANALYST}")
        cur.execute(f"select count(*) from {table}")
        (count,) = cur.fetchone()
        return count


@pytest.mark.parametrize("table", MARTS)
def test_the_analyst_reads_every_published_mart(ordinary_day, table):
    assert _select_as_analyst(ordinary_day, f"marts.{table}") > 0


@pytest.mark.parametrize("table", HIDDEN)
def test_the_analyst_can_read_nothing_outside_the_marts(ordinary_day, table):
    assert ordinary_day.scalar(f"select count(*) from {table}") > 0, "the table exists and holds rows"
    with pytest.raises(errors.InsufficientPrivilege):
        _select_as_analyst(ordinary_day, table)
