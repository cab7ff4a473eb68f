"""Every mart's dbt contract is enforced in the database: the partitioned fact included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from psycopg2 import errors

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


def _constraints(warehouse: MartsWarehouse, table: str) -> set[str]:
    return {definition for (definition,) in warehouse.query(
        "select pg_get_constraintdef(oid) from pg_constraint "
        f"where conrelid = 'marts_candidate.{table}'::regclass and contype in ('p', 'u', 'f')")}


def test_the_student_dimension_has_its_keys_in_the_database(warehouse: MartsWarehouse) -> None:
    assert _constraints(warehouse, "dim_students") == {
        "PRIMARY KEY (student_key)", "UNIQUE (email, academic_year)",
        "FOREIGN KEY (establishment_key) REFERENCES marts_candidate.dim_establishments(establishment_key)"}


def test_the_bridge_has_its_keys_in_the_database(warehouse: MartsWarehouse) -> None:
    assert _constraints(warehouse, "bridge_staff_students") == {
        "PRIMARY KEY (staff_key, student_key)",
        "FOREIGN KEY (staff_key) REFERENCES marts_candidate.dim_staff(staff_key)",
        "FOREIGN KEY (student_key) REFERENCES marts_candidate.dim_students(student_key)"}


def test_a_duplicate_student_year_is_refused_by_the_database(warehouse: MartsWarehouse) -> None:
    with psycopg2.connect(warehouse.url) as conn, conn.cursor() as cur, pytest.raises(errors.UniqueViolation):
        cur.execute("insert into marts_candidate.dim_students"
                    " select md5(student_key), academic_year, email, first_name, last_name, establishment_key,"
                    " year_group, knack_ids, establishment_resolution, is_current"
                    " from marts_candidate.dim_students limit 1")


def test_a_link_to_no_student_is_refused_by_the_database(warehouse: MartsWarehouse) -> None:
    with psycopg2.connect(warehouse.url) as conn, conn.cursor() as cur, pytest.raises(errors.ForeignKeyViolation):
        cur.execute("insert into marts_candidate.bridge_staff_students (staff_key, student_key, academic_year)"
                    " select staff_key, md5('nobody'), academic_year"
                    " from marts_candidate.bridge_staff_students limit 1")


def test_every_mart_and_each_of_its_columns_is_documented(warehouse: MartsWarehouse, tmp_path: Path) -> None:
    parsed = warehouse.dbt("parse", "--target-path", str(tmp_path))
    assert parsed.returncode == 0, parsed.stdout[-3000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    marts = {n["name"]: n for n in manifest["nodes"].values()
             if n["resource_type"] == "model" and n["schema"] == "marts_candidate"}
    assert set(marts) == {"dim_establishments", "dim_students", "dim_staff", "bridge_staff_students",
                          "fct_vespa_results", "quarantine_summary"}
    for name, node in marts.items():
        built = {c for (c,) in warehouse.query("select column_name from information_schema.columns where "
                                               f"table_schema = 'marts_candidate' and table_name = '{name}'")}
        documented = {c for c, spec in node["columns"].items() if spec["description"].strip()}
        assert node["description"].strip(), name
        assert built == documented, name


def test_the_academic_year_and_dedup_rule_unit_tests_run_and_pass(warehouse: MartsWarehouse) -> None:
    out = warehouse.dbt("test", "--select", "test_type:unit", as_of_date="2026-09-01")
    assert out.returncode == 0, out.stdout[-3000:]
    assert "PASS int_students_resolved::academic_year_label_follows_start_day" in out.stdout
    assert "PASS dim_students::latest_modified_version_wins_ties_to_the_greatest_knack_id" in out.stdout
