"""Knack's limits and failures: the shared rate limit, 429 storms, 503s, resets, auth errors, the daily budget."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from knackhouse.errors import ConfigError, KnackApiError
from simulator import DemoApp, Faults


def _assert_equals_truth(app, raw) -> None:
    for object_key, ids in app.truth().live_ids.items():
        assert raw.live_ids(object_key) == set(ids), object_key


def test_a_run_stays_under_knacks_ten_requests_per_second(serve, ingest, raw) -> None:
    app = DemoApp.generate(scale=0.06, seed=2)
    sim = serve(app, faults=Faults(rate_limit=True))
    started = time.monotonic()
    result = ingest(sim)
    elapsed = time.monotonic() - started
    assert result.api_requests > 12
    assert sim.status_counts[429] == 0
    assert elapsed >= (result.api_requests - 10) / 10
    _assert_equals_truth(app, raw)


def test_a_429_storm_is_waited_out_and_the_run_completes(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app, faults=Faults(rate_limit=True, requests_per_second=3))
    result = ingest(sim)
    assert sim.status_counts[429] > 0
    assert result.api_requests == sim.request_count
    _assert_equals_truth(demo_app, raw)


def test_503s_and_connection_resets_are_retried_and_the_run_completes(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app, faults=Faults(error_rate=0.3, reset_rate=0.5), seed=3)
    ingest(sim)
    assert sim.status_counts[503] > 0 and sim.status_counts[-1] > 0
    _assert_equals_truth(demo_app, raw)


def test_a_refused_api_key_fails_at_once_naming_the_app_and_object(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    with pytest.raises(KnackApiError) as failed:
        ingest(sim, settings={"knack_api_key": "wrong-key-1234"})
    message = str(failed.value)
    assert failed.value.exit_code == 3
    assert sim.app_id in message and "object_" in message and "HTTP 401" in message
    assert "wrong-key-1234" not in message
    assert sim.status_counts[401] <= 4, "a 401 is never retried"
    assert not any(t for t in raw.tables() if not t.startswith("_dlt"))


def test_an_unknown_app_is_a_knack_api_error_naming_it(demo_app, serve, ingest) -> None:
    sim = serve(demo_app)
    with pytest.raises(KnackApiError, match="Knack app 0123456789abcdef01234567: its metadata: not found"):
        ingest(sim, settings={"knack_app_id": "0123456789abcdef01234567"})


def test_missing_app_id_or_key_is_a_config_error(demo_app, serve, ingest) -> None:
    sim = serve(demo_app)
    with pytest.raises(ConfigError, match="KNACK_API_KEY"):
        ingest(sim, settings={"knack_api_key": None})
    with pytest.raises(ConfigError, match="KNACK_APP_ID"):
        ingest(sim, settings={"knack_app_id": None})


def test_a_run_postpones_the_objects_its_request_budget_cannot_fit(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    result = ingest(sim, request_budget=3)
    assert sim.request_count == 3, "the metadata call and the first page of the two objects that fit"
    read = [o.object_key for o in result.objects if o.requests]
    postponed = [p["object_key"] for p in result.postponed]
    assert len(read) == 2 and sorted(read + postponed) == sorted(o.object_key for o in result.objects)
    assert all("0 left of the day's budget of 3" in p["reason"] for p in result.postponed)
    for key in postponed:
        assert raw.rows(key) == {}, f"postponed object {key} must not be loaded"
    statuses = dict(raw.query("select object_key, status from audit.object_loads"))
    assert {k for k, v in statuses.items() if v == "postponed"} == set(postponed)


def test_todays_earlier_runs_count_against_the_daily_budget(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    first = ingest(sim, request_budget=12)
    assert first.api_requests == 8 and first.requests_today == 8 and not first.postponed
    second = ingest(sim, request_budget=12)
    assert second.api_requests == 4 and second.requests_today == 12, "1 metadata + 3 objects: what was left"
    (postponed,) = second.postponed
    assert "0 left of the day's budget of 12" in postponed["reason"] and "8 used by earlier runs" in postponed["reason"]


def test_knacks_daily_limit_answer_is_not_retried(demo_app, serve, ingest) -> None:
    sim = serve(demo_app, faults=Faults(daily_quota=3))
    with pytest.raises(KnackApiError, match="daily API limit"):
        ingest(sim)
    assert sim.request_count <= 3 + 4 * 2


def test_the_api_key_appears_in_no_log_message_table_or_state(demo_app, serve, ingest, raw, caplog,
                                                                 settings_of) -> None:
    sim = serve(demo_app, faults=Faults(error_rate=0.2), seed=5)
    caplog.set_level(logging.DEBUG)
    ingest(sim)
    demo_app.advance(days=1)
    ingest(sim, reconcile=True)
    with pytest.raises(KnackApiError):
        ingest(sim, settings={"knack_api_key": sim.api_key[::-1]})
    key = sim.api_key
    assert key not in caplog.text and key[::-1] not in caplog.text
    for schema, table in raw.query("select table_schema, table_name from information_schema.tables"
                                   " where table_schema in ('raw_knack', 'audit')"):
        text = raw.query(f'select coalesce(string_agg(t::text, \'\'), \'\') from {schema}."{table}" t')[0][0]
        assert key not in text, f"{schema}.{table}"
    from dlt.common.versioned_state import decompress_state

    for (state,) in raw.query("select state from raw_knack._dlt_pipeline_state"):
        assert key not in str(decompress_state(state))
    home = Path(settings_of(sim).home)
    for path in home.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
