"""The mapping's plausible ranges: a score scale and a date window, with defaults, shape-checked like the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from knackhouse.app_config import load_app_config
from knackhouse.errors import ConfigError

RESULTS = "entities:\n  vespa_results: {object: object_4, fields: {student_email: f1, completed_at: f2}%s}\n"


def _load(tmp_path: Path, text: str):
    path = tmp_path / "mapping.yml"
    path.write_text(text)
    return load_app_config(path)


def test_the_score_scale_and_date_window_default_and_reach_dbt(tmp_path: Path) -> None:
    config = _load(tmp_path, RESULTS % "")
    var = config.as_dbt_var()
    assert var["entities"]["vespa_results"]["score_scale"] == {"min": 1, "max": 10}
    assert var["plausible_dates"] == {"earliest": "2000-01-01", "days_ahead": 366}
    assert "score_scale" not in config.raw["entities"]["vespa_results"], "the file's own mapping is left as read"
    chosen = _load(tmp_path, RESULTS % ", score_scale: {min: 0, max: 100}"
                   + "plausible_dates: {earliest: 2015-08-01, days_ahead: 30}\n").as_dbt_var()
    assert chosen["entities"]["vespa_results"]["score_scale"] == {"min": 0, "max": 100}
    assert chosen["plausible_dates"] == {"earliest": "2015-08-01", "days_ahead": 30}


@pytest.mark.parametrize(("text", "named"), [
    (RESULTS % ", score_scale: {min: 10, max: 1}", "score_scale: min 10 must be below max 1"),
    (RESULTS % ", score_scale: {min: low, max: 10}", "score_scale: min and max must be numbers"),
    (RESULTS % ", score_scale: 10", "score_scale must give min and max"),
    ("entities:\n  students: {object: o, fields: {email: a, establishment: b}, score_scale: {min: 1, max: 9}}\n",
     "entities.students has unknown setting 'score_scale'"),
    ('plausible_dates: {earliest: "31/12/1999"}\n', "plausible_dates.earliest is '31/12/1999'; write it as YYYY-MM-DD"),
    ("plausible_dates: {days_ahead: -1}\n", "plausible_dates.days_ahead is -1"),
    ("plausible_dates: {latest: 2030-01-01}\n", "plausible_dates takes earliest and days_ahead"),
])
def test_a_wrong_scale_or_window_is_a_config_error_naming_it(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, text)
    assert named in str(raised.value)
