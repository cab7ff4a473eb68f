"""Staging of an app it never saw: dd/mm/yyyy dates, HTML emails (also in mapped text fields), new fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from raw_loader import load_metadata, load_records
from synthetic_app import synthetic_metadata, synthetic_records

from knackhouse.app_config import AppConfig, load_app_config
from knackhouse.dbt import DbtProject, DbtResult
from knackhouse.errors import ConfigError
from knackhouse.settings import Settings

Query = Callable[..., list[tuple]]
RECORD_ID = "5d00000000000000000000aa"


def _app() -> dict:
    metadata = synthetic_metadata(objects=2, fields_per_object=9, date_format="dd/mm/yyyy", zone="London")
    metadata["application"]["objects"][0]["fields"].append(
        {"key": "field_1500", "name": "Student Email", "type": "short_text"}
    )
    return metadata


def _record() -> dict:
    return {
        "id": RECORD_ID,
        "field_1001_raw": {"email": '<a href="mailto:Jo.Bloggs@School.ORG">Jo.Bloggs@School.ORG</a>'},
        "field_1003_raw": {
            "date": "13/05/2024",
            "hours": "02",
            "minutes": "30",
            "am_pm": "PM",
            "iso_timestamp": "2024-05-13T14:30:00.000Z",
        },
        "field_1500_raw": " <span>MAILTO:Ann@Example.com </span>",
    }


@pytest.fixture(scope="module")
def mapping(tmp_path_factory: pytest.TempPathFactory) -> AppConfig:
    path = tmp_path_factory.mktemp("mapping") / "mapping.yml"
    path.write_text("objects:\n  object_1: {email_fields: [field_1500]}\n")
    return load_app_config(path)


@pytest.fixture(scope="module")
def builds(module_settings: Settings, module_database: str, mapping: AppConfig) -> tuple[DbtResult, DbtResult]:
    metadata = _app()
    tables = load_metadata(module_database, metadata)
    first_object = metadata["application"]["objects"][0]
    load_records(module_database, tables["object_1"], [_record(), *synthetic_records(first_object, 20)])
    project = DbtProject(module_settings, module_database, mapping=mapping)
    project.prepare()
    first = project.build()
    first_object["fields"].append({"key": "field_1600", "name": "Year Group", "type": "short_text"})
    load_metadata(module_database, metadata)
    load_records(module_database, tables["object_1"], [_record() | {"field_1600_raw": "Year 12"}])
    project.prepare()
    second = project.build()
    return first, second


def _value(query: Query, column: str) -> object:
    return query(f'select "{column}" from staging.stg_knack__thing_1 where knack_id = %s', (RECORD_ID,))[0][0]


def test_both_builds_succeed(builds: tuple[DbtResult, DbtResult]) -> None:
    assert [b.success for b in builds] == [True, True]


def test_html_email_is_normalised(builds: tuple[DbtResult, DbtResult], query: Query) -> None:
    assert _value(query, "email_1") == "jo.bloggs@school.org"
    assert _value(query, "email_1_is_malformed") is False


def test_text_field_marked_as_email_in_the_mapping_gets_the_same_normalisation(
    builds: tuple[DbtResult, DbtResult], query: Query
) -> None:
    assert _value(query, "student_email") == "ann@example.com"
    assert _value(query, "student_email_is_malformed") is False


def test_dd_mm_yyyy_wall_clock_in_london_summer_time_is_the_true_instant(
    builds: tuple[DbtResult, DbtResult], query: Query
) -> None:
    assert _value(query, "date_time_3") == datetime(2024, 5, 13, 13, 30, tzinfo=UTC)
    assert _value(query, "date_time_3_local_date") == date(2024, 5, 13)


def test_field_added_between_builds_appears_as_a_column(builds: tuple[DbtResult, DbtResult], query: Query) -> None:
    assert _value(query, "year_group") == "Year 12"


def test_knack_column_macro_names_the_staging_column(
    module_settings: Settings, builds: tuple, mapping: AppConfig, module_database: str
) -> None:
    project = DbtProject(module_settings, module_database, mapping=mapping)
    result = project.run_operation(
        "knack_column", {"object_key": "object_1", "field_key": "field_1002", "part": "first"}
    )
    unknown = project.run_operation("knack_column", {"object_key": "object_1", "field_key": "field_9999"})
    assert (result.success, unknown.success) == (True, False)
    assert project.staging_var()["object_1"]["fields"]["field_1002"] == "name_2"


def test_unknown_field_in_the_mapping_is_a_config_error_naming_it(
    module_settings: Settings, module_database: str, builds: tuple, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("objects:\n  object_1: {email_fields: [field_9999]}\n")
    with pytest.raises(ConfigError, match="field_9999"):
        DbtProject(module_settings, module_database, mapping=load_app_config(path)).prepare()
