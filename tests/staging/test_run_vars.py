"""A run's as-of date and reopened years reach dbt without costing the daily build a full re-parse."""

from __future__ import annotations

import os

import pytest
from raw_loader import load_metadata, load_records
from synthetic_app import synthetic_metadata, synthetic_records

from knackhouse.dbt import RUN_VAR_PREFIX, DbtProject
from knackhouse.settings import Settings

FULL_PARSE = "Unable to do partial parsing"


def _log_of_last_invocation(project: DbtProject) -> str:
    log = (project.log_dir / "dbt.log").read_text()
    return log[log.rindex("Running with dbt"):]


@pytest.fixture(scope="module")
def project(module_settings: Settings, module_database: str) -> DbtProject:
    """A prepared project over a one-object synthetic app."""
    metadata = synthetic_metadata(objects=1, fields_per_object=4)
    tables = load_metadata(module_database, metadata)
    load_records(module_database, tables["object_1"], synthetic_records(metadata["application"]["objects"][0], 5))
    project = DbtProject(module_settings, module_database)
    project.prepare()
    return project


def test_a_build_on_a_new_as_of_date_reuses_the_previous_parse(project: DbtProject) -> None:
    assert project.build(vars={"as_of_date": "2026-09-01", "reopen_years": []}).success
    assert project.build(vars={"as_of_date": "2026-09-02", "reopen_years": ["2024/2025"]}).success
    assert FULL_PARSE not in _log_of_last_invocation(project)
    assert os.environ[RUN_VAR_PREFIX + "AS_OF_DATE"] == '"2026-09-02"'
    assert os.environ[RUN_VAR_PREFIX + "REOPEN_YEARS"] == '["2024/2025"]'


def test_a_run_var_left_out_of_a_later_invocation_is_not_inherited(project: DbtProject) -> None:
    assert project.build(vars={"as_of_date": "2026-09-03"}).success
    assert project.build().success
    assert RUN_VAR_PREFIX + "AS_OF_DATE" not in os.environ
