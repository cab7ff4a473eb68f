"""`knackhouse simulate` behaves like Knack unless told otherwise: 10 requests a second by default, faults on
request, `--no-limits` without them, and a control endpoint that makes a day of change while it serves."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from test_simulator_command import start, stop

from knackhouse.cli import build_parser
from knackhouse.errors import ConfigError
from simulator.cli import faults_from_args
from simulator.faults import Faults

BURST = 30  # requests sent at once: three times Knack's limit of 10 a second


def _burst(printed: dict[str, str]) -> list[int]:
    url = f"{printed['KNACK_API_URL']}/applications/{printed['KNACK_APP_ID']}"
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        return list(pool.map(lambda _: requests.get(url, timeout=30).status_code, range(BURST)))


def test_simulate_enforces_knacks_ten_requests_a_second_by_default(tmp_path: Path) -> None:
    process, printed = start(tmp_path, "--scale", "0.005")
    try:
        statuses = _burst(printed)
    finally:
        stop(process)
    assert 429 in statuses and statuses.count(200) <= 20, statuses  # a burst spans at most two one-second windows


def test_simulate_with_no_limits_answers_every_request(tmp_path: Path) -> None:
    process, printed = start(tmp_path, "--scale", "0.005", "--no-limits")
    try:
        statuses = _burst(printed)
    finally:
        stop(process)
    assert statuses == [200] * BURST


def test_the_control_endpoint_makes_a_day_of_change_while_serving(tmp_path: Path) -> None:
    process, printed = start(tmp_path, "--scale", "0.01", "--no-limits")
    try:
        control = printed["KNACK_API_URL"].removesuffix("/v1") + "/_simulator/advance"
        refused = requests.post(control, timeout=30)
        changed = requests.post(f"{control}?days=2", timeout=60,
                                headers={"X-Knack-REST-API-Key": printed["KNACK_API_KEY"]})
    finally:
        stop(process)
    assert refused.status_code == 401
    assert changed.status_code == 200
    body = changed.json()
    assert date.fromisoformat(body["today"]) == date(2025, 10, 1) + timedelta(days=2)
    assert sum(o["created"] for o in body["objects"].values()) > 0


def _faults(*flags: str) -> Faults:
    return faults_from_args(build_parser().parse_args(["simulate", *flags]))


def test_simulate_flags_turn_on_each_fault() -> None:
    assert _faults() == Faults(rate_limit=True)
    assert _faults("--no-limits") == Faults()
    assert _faults("--daily-quota", "500", "--error-rate", "0.1", "--slow-seconds", "2", "--slow-rate", "0.5",
                   "--reset-rate", "0.05", "--page-shift", "3", "--inflate-total", "7",
                   "--requests-per-second", "5") == Faults(
        rate_limit=True, requests_per_second=5, daily_quota=500, error_rate=0.1, slow_seconds=2.0, slow_rate=0.5,
        reset_rate=0.05, page_shift_inserts=3, page_shift_deletes=3, page_shift_modifies=3, inflate_total=7)


@pytest.mark.parametrize(("flags", "named"), [
    (("--no-limits", "--error-rate", "0.1"), "--error-rate"),
    (("--error-rate", "1.5"), "--error-rate"),
    (("--requests-per-second", "0"), "--requests-per-second"),
])
def test_contradictory_or_impossible_simulate_flags_are_refused_naming_the_flag(flags: tuple[str, ...],
                                                                               named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        _faults(*flags)
