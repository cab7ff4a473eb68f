"""The app mapping: shape checks, and every key checked against the app's own metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knackhouse.app_config import AppConfig, load_app_config
from knackhouse.errors import ConfigError

KNACKPY = Path(__file__).resolve().parents[1] / "fixtures" / "knackpy"


@pytest.fixture(scope="module")
def knackpy_metadata() -> dict:
    return json.loads((KNACKPY / "app_metadata.json").read_text())


def _mapping(tmp_path: Path, text: str) -> AppConfig:
    path = tmp_path / "mapping.yml"
    path.write_text(text)
    return load_app_config(path)


def test_an_empty_mapping_is_valid_and_names_no_entities(tmp_path: Path, knackpy_metadata: dict) -> None:
    config = _mapping(tmp_path, "")
    config.validate(knackpy_metadata)
    assert config.has_entities is False
    assert config.modified_field("object_3") is None
    assert config.as_dbt_var()["academic_year"]["start"] == "08-01"


def test_object_settings_are_read_per_object(tmp_path: Path, knackpy_metadata: dict) -> None:
    config = _mapping(tmp_path, "objects:\n  object_3: {modified_field: field_13, email_fields: [field_7]}\n")
    config.validate(knackpy_metadata)
    assert config.modified_field("object_3") == "field_13"
    assert config.email_fields("object_3") == ["field_7"]


def test_connection_severity_is_read_per_connection(tmp_path: Path, knackpy_metadata: dict) -> None:
    config = _mapping(tmp_path, "objects:\n  object_4: {connection_severity: {field_43: error}}\n")
    config.validate(knackpy_metadata)
    assert config.object_settings("object_4")["connection_severity"] == {"field_43": "error"}


def test_a_connection_severity_other_than_warn_or_error_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="connection_severity.field_43 is 'fatal'; use warn or error"):
        _mapping(tmp_path, "objects:\n  object_4: {connection_severity: {field_43: fatal}}\n")


def test_a_connection_severity_on_a_field_that_is_no_connection_is_refused(tmp_path: Path,
                                                                          knackpy_metadata: dict) -> None:
    config = _mapping(tmp_path, "objects:\n  object_4: {connection_severity: {field_69: error}}\n")
    with pytest.raises(ConfigError, match="field_69, a sum field, not a connection"):
        config.validate(knackpy_metadata)


def test_an_unknown_object_is_named(tmp_path: Path, knackpy_metadata: dict) -> None:
    config = _mapping(tmp_path, "objects:\n  object_99: {modified_field: field_1}\n")
    with pytest.raises(ConfigError, match="object_99"):
        config.validate(knackpy_metadata)


def test_an_unknown_field_is_named_with_its_object(tmp_path: Path, knackpy_metadata: dict) -> None:
    config = _mapping(
        tmp_path, "entities:\n  students: {object: object_3, fields: {email: field_20, establishment: field_999}}\n"
    )
    with pytest.raises(ConfigError, match="field_999.*object_3"):
        config.validate(knackpy_metadata)


def test_a_modified_field_must_be_a_date_time(tmp_path: Path, knackpy_metadata: dict) -> None:
    config = _mapping(tmp_path, "objects:\n  object_3: {modified_field: field_7}\n")
    with pytest.raises(ConfigError, match="short_text"):
        config.validate(knackpy_metadata)


def test_an_entity_missing_a_required_attribute_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'establishment'"):
        _mapping(tmp_path, "entities:\n  students: {object: object_3, fields: {email: field_20}}\n")


def test_an_unknown_entity_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'teachers'"):
        _mapping(tmp_path, "entities:\n  teachers: {object: object_3, fields: {}}\n")


def test_academic_year_start_must_be_month_day(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MM-DD"):
        _mapping(tmp_path, "academic_year: {start: '1 August'}\n")


def test_the_analyst_role_is_read_from_the_mapping(tmp_path: Path) -> None:
    assert _mapping(tmp_path, "analyst_role: school_readers\n").as_dbt_var()["analyst_role"] == "school_readers"


def test_an_analyst_role_that_is_no_plain_role_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="analyst_role.*PostgreSQL role name"):
        _mapping(tmp_path, "analyst_role: 'readers; drop table x'\n")


def test_an_unknown_section_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown section 'filters'"):
        _mapping(tmp_path, "filters: {status: active}\n")


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_app_config(tmp_path / "nope.yml")
