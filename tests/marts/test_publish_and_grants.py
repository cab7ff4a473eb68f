"""Publishing moves the candidate marts in one transaction; frozen partitions and grants hold."""

from __future__ import annotations

import uuid
from typing import Any

MartsWarehouse = Any  # the `warehouse` fixture of conftest.py

MARTS = ["dim_establishments", "dim_students", "dim_staff", "bridge_staff_students", "fct_vespa_results"]


def test_candidate_built_but_not_published_leaves_marts_absent(warehouse: MartsWarehouse) -> None:
    rows = warehouse.query("select count(*) from pg_tables where schemaname = 'marts'")
    assert rows[0][0] == 0


def test_published_marts_equal_candidate(warehouse: MartsWarehouse) -> None:
    out = warehouse.dbt("run-operation", "publish_marts", as_of_date="2026-09-01")
    assert out.returncode == 0, out.stdout[-3000:]
    for table in MARTS:
        diff = warehouse.query(
            f"select count(*) from ((table marts_candidate.{table} except table marts.{table})"
            f" union all (table marts.{table} except table marts_candidate.{table})) d"
        )
        assert diff[0][0] == 0, table


def test_frozen_partition_not_rebuilt_by_a_later_run(warehouse: MartsWarehouse) -> None:
    before = warehouse.query("select content_hash from audit.frozen_partitions order by academic_year")
    out = warehouse.dbt("run", "--select", "fct_vespa_results", as_of_date="2026-09-01")
    assert "is frozen" in out.stdout
    test = warehouse.dbt("test", "--select", "assert_frozen_partitions_unchanged", as_of_date="2026-09-01")
    assert test.returncode == 0, test.stdout[-3000:]
    assert warehouse.query("select content_hash from audit.frozen_partitions order by academic_year") == before


def test_analyst_role_reads_marts_only(warehouse: MartsWarehouse) -> None:
    warehouse.dbt("run-operation", "publish_marts", as_of_date="2026-09-01")
    rows = warehouse.query(
        "select has_table_privilege('knackhouse_analyst', 'marts.dim_students', 'select'),"
        " has_schema_privilege('knackhouse_analyst', 'staging', 'usage'),"
        " has_schema_privilege('knackhouse_analyst', 'marts_candidate', 'usage')"
    )
    assert rows[0] == (True, False, False)


def test_the_analyst_role_is_the_one_the_app_mapping_names(warehouse: MartsWarehouse) -> None:
    role = f"kh_readers_{uuid.uuid4().hex[:8]}"
    mapping = {**warehouse.vars["knack_mapping"], "analyst_role": role}
    try:
        out = warehouse.dbt("run-operation", "publish_marts", as_of_date="2026-09-01", knack_mapping=mapping)
        assert out.returncode == 0, out.stdout[-3000:]
        assert warehouse.query(
            f"select has_table_privilege('{role}', 'marts.dim_students', 'select'),"
            f" has_schema_privilege('{role}', 'staging', 'usage')") == [(True, False)]
    finally:
        warehouse.query(f"drop owned by {role}; drop role if exists {role}")


def test_full_refresh_gives_identical_keys(warehouse: MartsWarehouse) -> None:
    before = warehouse.query("select student_key from marts_candidate.dim_students order by 1")
    out = warehouse.dbt("build", "--full-refresh", "--exclude", "fct_vespa_results", as_of_date="2026-09-01")
    assert out.returncode == 0, out.stdout[-3000:]
    assert warehouse.query("select student_key from marts_candidate.dim_students order by 1") == before


def test_the_student_dimension_candidate_is_logged_as_it_keeps_the_frozen_years_student_years(
        warehouse: MartsWarehouse) -> None:
    persistence = dict(warehouse.query(
        "select relname, relpersistence from pg_class where relnamespace = 'marts_candidate'::regnamespace"
        " and relname in ('dim_establishments', 'dim_students', 'dim_staff')"))
    assert persistence == {"dim_establishments": "p", "dim_students": "p", "dim_staff": "u"}  # the rest unlogged
