"""Bounds from history and the guards' configuration, on hand-made histories."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from expectations.bounds import count_bounds, growth_bounds, share_bounds
from expectations.config import load_guard_config
from knackhouse.errors import ConfigError

RULE = load_guard_config().history
START = date(2025, 10, 6)  # a Monday


def days(values):
    return [(START + timedelta(days=i), float(v)) for i, v in enumerate(values)]


def test_too_little_history_gives_no_bounds():
    bounds = count_bounds(days([5, 6, 7]), START + timedelta(days=3), RULE)
    assert not bounds.known and "no history yet (3 of 7 runs)" in bounds.basis


def test_weekday_counts_are_bounded_by_weekdays_only():
    # two weeks: ~20 on weekdays, ~2 at weekends
    history = days([20, 22, 19, 21, 20, 2, 1, 18, 20, 23, 21, 19, 2, 3])
    monday = START + timedelta(days=14)
    bounds = count_bounds(history, monday, RULE)
    assert bounds.basis == "median of 10 weekdays"
    assert bounds.centre == 20
    assert bounds.lower >= 1 and bounds.upper < 45


def test_zero_on_a_busy_weekday_is_below_the_bounds_but_allowed_at_weekends():
    history = days([20, 22, 19, 21, 20, 2, 1, 18, 20, 23, 21, 19, 2, 3])
    assert count_bounds(history, START + timedelta(days=14), RULE).lower >= 1
    assert count_bounds(history, START + timedelta(days=19), RULE).lower == 0


def test_a_burst_of_creations_is_far_above_a_quiet_tables_bounds():
    history = days([0, 1, 0, 0, 0, 0, 0, 1, 0, 0])
    bounds = count_bounds(history, START + timedelta(days=10), RULE)
    assert bounds.upper < 96


def test_growth_bounds_allow_a_small_tables_ordinary_change_and_not_a_loss_of_a_third():
    levels = days([140] * 10)
    bounds = growth_bounds(levels, RULE)
    assert bounds.lower <= -2 and bounds.upper >= 2  # the floor: 2% of 140 rows
    assert bounds.lower > -47


def test_growth_bounds_follow_a_steadily_growing_table():
    levels = days([1000 + 25 * i for i in range(12)])
    bounds = growth_bounds(levels, RULE)
    assert bounds.lower < 25 < bounds.upper
    assert bounds.upper < 20_000


def test_share_bounds_have_a_floor_of_two_points():
    bounds = share_bounds(days([0.03] * 10), RULE)
    assert bounds.lower == pytest.approx(0.01) and bounds.upper == pytest.approx(0.05)


def test_configuration_overrides_one_key_and_keeps_the_rest(tmp_path):
    path = tmp_path / "guards.yml"
    path.write_text("severity:\n  created: warn\nhistory:\n  window: 40\n")
    config = load_guard_config(path)
    assert config.severity_of("created") == "warn"
    assert config.severity_of("growth") == "error"
    assert config.history.window == 40 and config.history.min_history == RULE.min_history


def test_an_unknown_severity_is_a_clear_error(tmp_path):
    path = tmp_path / "guards.yml"
    path.write_text("severity:\n  growth: fatal\n")
    with pytest.raises(ConfigError, match="severity of growth is 'fatal'"):
        load_guard_config(path)


def test_without_enough_history_a_table_that_multiplies_is_still_an_anomaly():
    bounds = growth_bounds(days([140, 141]), RULE)
    assert bounds.known and "within ×3" in bounds.basis
    assert bounds.upper == 141 * 2 and bounds.upper < 140 * 20
    assert bounds.lower == pytest.approx(141 / 3 - 141)


def test_without_enough_history_a_small_table_may_grow_up_to_the_ratio_floor():
    bounds = growth_bounds(days([8, 9, 8]), RULE)
    assert bounds.known and bounds.lower == -8
    assert bounds.upper == RULE.ratio_min_rows - 8  # 8 -> 50 passes, 8 -> 168 (a runaway) fails


def test_without_enough_history_a_small_table_may_triple_past_the_ratio_floor():
    assert growth_bounds(days([30]), RULE).upper == 30 * 2


def test_without_history_an_empty_table_is_not_checked():
    assert not growth_bounds(days([0]), RULE).known
