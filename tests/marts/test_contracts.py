"""Every mart's dbt contract is enforced in the database: the partitioned fact included."""

from __future__ import annotations

from typing import Any

MartsWarehouse = Any  # the `warehouse` fixture of conftest.py


def test_the_partitioned_fact_has_its_contracts_primary_key_and_not_nulls(warehouse: MartsWarehouse) -> None:
    [(primary_key,)] = warehouse.query(
        "select pg_get_constraintdef(oid) from pg_constraint "
        "where conrelid = 'marts_candidate.fct_vespa_results'::regclass and contype = 'p'")
    assert primary_key == "PRIMARY KEY (result_key, academic_year)"
    not_null = {name for (name,) in warehouse.query(
        "select attname from pg_attribute where attrelid = 'marts_candidate.fct_vespa_results'::regclass "
        "and attnum > 0 and attnotnull")}
    assert {"result_key", "student_key", "establishment_key", "academic_year", "cycle", "knack_id"} <= not_null


def test_the_partitioned_fact_has_the_contracts_column_types(warehouse: MartsWarehouse) -> None:
    types = dict(warehouse.query(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts_candidate' and table_name = 'fct_vespa_results'"))
    assert types["cycle"] == "integer" and types["overall"] == "numeric"
    assert types["completed_at"] == "timestamp with time zone"


def test_a_wrong_column_type_fails_the_build_before_anything_is_written(warehouse: MartsWarehouse) -> None:
    model = warehouse.dir / "models" / "marts" / "fct_vespa_results.sql"
    original = model.read_text()
    before = warehouse.query("select count(*), sum(hashtext(result_key)) from marts_candidate.fct_vespa_results")
    try:
        model.write_text(original.replace("cycle::int as cycle", "cycle::text as cycle"))
        out = warehouse.dbt("run", "--select", "fct_vespa_results", as_of_date="2026-09-01")
    finally:
        model.write_text(original)
    assert out.returncode != 0
    assert "contract" in out.stdout.lower() and "cycle" in out.stdout
    assert warehouse.query("select count(*), sum(hashtext(result_key)) from marts_candidate.fct_vespa_results") \
        == before
