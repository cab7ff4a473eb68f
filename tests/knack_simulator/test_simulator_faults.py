"""Knack's limits and failures, each switched on alone and replayable from a seed."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import pytest
import requests
from knack_client import Client

from simulator.demo import DemoApp
from simulator.faults import Faults
from simulator.server import SimulatorServer


def statuses(client: Client, count: int) -> list[int]:
    return [client.get("/objects/object_1/records").status_code for _ in range(count)]


def test_the_eleventh_request_within_a_second_is_429_rate_limit_exceeded(fresh: tuple[DemoApp, Client]) -> None:
    _, client = fresh
    client.sim.faults = Faults(rate_limit=True)
    started = time.monotonic()
    responses = [client.get("/objects/object_1/records") for _ in range(11)]
    assert time.monotonic() - started < 1.0
    assert [r.status_code for r in responses[:10]] == [200] * 10
    assert responses[10].status_code == 429
    assert responses[10].text == "Rate limit exceeded"


def test_waiting_under_a_second_after_a_429_is_enough(fresh: tuple[DemoApp, Client]) -> None:
    _, client = fresh
    client.sim.faults = Faults(rate_limit=True)
    assert statuses(client, 11)[-1] == 429
    time.sleep(1.0)
    assert statuses(client, 1) == [200]


def test_the_rate_limit_is_off_by_default(fresh: tuple[DemoApp, Client]) -> None:
    _, client = fresh
    assert set(statuses(client, 25)) == {200}


def test_the_daily_quota_refuses_requests_until_the_next_simulated_day(fresh: tuple[DemoApp, Client]) -> None:
    app, client = fresh
    client.sim.faults = Faults(daily_quota=5)
    assert statuses(client, 7) == [200] * 5 + [429] * 2
    app.advance(1)
    assert statuses(client, 1) == [200]


def test_random_503s_come_at_the_given_rate_and_replay_from_the_seed(demo_app: DemoApp) -> None:
    runs = []
    for _ in range(2):
        with SimulatorServer(demo_app, faults=Faults(error_rate=0.3), seed=42) as sim:
            runs.append(statuses(Client(sim), 60))
    assert runs[0] == runs[1]
    assert 5 <= runs[0].count(503) <= 35 and set(runs[0]) == {200, 503}


def test_slow_responses_take_the_given_time(fresh: tuple[DemoApp, Client]) -> None:
    _, client = fresh
    client.sim.faults = Faults(slow_seconds=0.3)
    started = time.monotonic()
    assert client.get("/objects/object_1/records").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_inflated_total_records_claims_more_than_the_pages_hold(fresh: tuple[DemoApp, Client]) -> None:
    app, client = fresh
    client.sim.faults = Faults(inflate_total=46)
    body = client.page("object_3", rows_per_page=1000)
    real = len(app.tables["object_3"].rows)
    assert body["total_records"] == real + 46
    assert len(client.scan("object_3")) == real


def test_a_page_shift_during_a_scan_skips_or_repeats_records(fresh: tuple[DemoApp, Client]) -> None:
    app, client = fresh
    before = set(app.tables["object_4"].rows)
    client.sim.faults = Faults(page_shift_inserts=3, page_shift_deletes=7)
    seen = [r["id"] for r in client.scan("object_4", rows_per_page=100)]
    after = set(app.tables["object_4"].rows)
    assert after != before
    assert set(seen) != after  # the scan is not a true picture: records were skipped or are gone
    deleted = app.truth().deleted_ids["object_4"]
    assert before - after <= deleted and deleted.isdisjoint(after)


def test_a_connection_reset_cuts_a_response_mid_body(fresh: tuple[DemoApp, Client]) -> None:
    _, client = fresh
    client.sim.faults = Faults(reset_rate=1.0)
    with pytest.raises(requests.exceptions.RequestException):
        client.get("/objects/object_3/records", rows_per_page=1000).json()


def test_a_reset_response_sent_only_part_of_its_announced_length(fresh: tuple[DemoApp, Client]) -> None:
    _, client = fresh
    client.sim.faults = Faults(reset_rate=1.0)
    url = urlsplit(client.sim.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.request("GET", f"{url.path}/objects/object_3/records?rows_per_page=1000", headers=client.headers())
    response = connection.getresponse()
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        response.read()


def test_faults_can_be_switched_off_on_a_running_server(fresh: tuple[DemoApp, Client]) -> None:
    _, client = fresh
    client.sim.faults = Faults(error_rate=1.0)
    assert statuses(client, 2) == [503, 503]
    client.sim.faults = Faults()
    assert statuses(client, 2) == [200, 200]


def test_every_request_is_counted_including_refused_ones(fresh: tuple[DemoApp, Client]) -> None:
    _, client = fresh
    client.sim.faults = Faults(rate_limit=True)
    statuses(client, 12)
    assert client.sim.request_count == 12
    assert client.sim.status_counts[429] == 2
