"""Which establishment statuses count as active and which portal types as coaching are settings of the mapping,
checked against the app's metadata where the field lists its choices."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knackhouse.app_config import DEMO_MAPPING_PATH, load_app_config
from knackhouse.errors import ConfigError
from simulator import DemoApp

OTHER_WORDS = {"Active": "Live", "Cancelled": "Lapsed", "Trial": "Pilot"}


def _demo_mapping(tmp_path: Path, **establishment_settings: object):
    raw = yaml.safe_load(DEMO_MAPPING_PATH.read_text())
    raw["entities"]["establishments"].update(establishment_settings)
    path = tmp_path / "mapping.yml"
    path.write_text(yaml.safe_dump(raw))
    return load_app_config(path)


def test_todays_values_are_the_defaults_dbt_receives():
    establishments = load_app_config(DEMO_MAPPING_PATH).as_dbt_var()["entities"]["establishments"]
    assert establishments["active_statuses"] == ["active"]
    assert establishments["coaching_portal_types"] == ["%coaching portal%"]


def test_values_reach_dbt_lower_cased_with_single_spaces(tmp_path):
    config = _demo_mapping(tmp_path, active_statuses=["Live", "On  Trial"], coaching_portal_types=["%Mentoring Hub%"])
    establishments = config.as_dbt_var()["entities"]["establishments"]
    assert establishments["active_statuses"] == ["live", "on trial"]
    assert establishments["coaching_portal_types"] == ["%mentoring hub%"]


def test_an_active_status_the_status_field_does_not_offer_is_refused():
    app = DemoApp(scale=0.005, seed=3, words=OTHER_WORDS)
    with pytest.raises(ConfigError, match=r"active_statuses: 'active' matches none of field \w+'s options \(Live, "
                                          r"Lapsed, Pilot\)"):
        load_app_config(DEMO_MAPPING_PATH).validate(app.metadata())


def test_the_apps_own_active_status_is_accepted(tmp_path):
    app = DemoApp(scale=0.005, seed=3, words=OTHER_WORDS)
    _demo_mapping(tmp_path, active_statuses=["live", "Pilot"]).validate(app.metadata())


def test_active_statuses_must_be_a_list_of_values(tmp_path):
    with pytest.raises(ConfigError, match="active_statuses must be a list of values"):
        _demo_mapping(tmp_path, active_statuses="Live")


def test_coaching_portal_types_may_not_be_empty(tmp_path):
    with pytest.raises(ConfigError, match="coaching_portal_types is empty"):
        _demo_mapping(tmp_path, coaching_portal_types=[])
