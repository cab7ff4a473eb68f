"""The daily request budget: a setting, shared by the day's runs, and an object whose reads do not fit waits."""

from __future__ import annotations

from contextlib import closing

import pytest

from knackhouse.errors import ConfigError
from knackhouse.settings import DEFAULT_DAILY_REQUEST_BUDGET, Settings
from knackhouse.warehouse import connect
from simulator import DemoApp


def test_the_budget_is_a_setting_with_a_documented_default(tmp_path) -> None:
    assert Settings.from_env({"KNACKHOUSE_HOME": str(tmp_path)}).daily_request_budget == DEFAULT_DAILY_REQUEST_BUDGET
    env = {"KNACKHOUSE_HOME": str(tmp_path), "KNACKHOUSE_DAILY_REQUEST_BUDGET": "25000"}
    assert Settings.from_env(env).daily_request_budget == 25000
    with pytest.raises(ConfigError, match="KNACKHOUSE_DAILY_REQUEST_BUDGET must be a whole number"):
        Settings.from_env({**env, "KNACKHOUSE_DAILY_REQUEST_BUDGET": "lots"})


def test_run_ingest_takes_the_budget_from_the_settings(demo_app, serve, ingest) -> None:
    sim = serve(demo_app)
    result = ingest(sim, settings={"daily_request_budget": 3})
    assert result.request_budget == 3 and result.api_requests == 3, "3 a day: metadata + two objects"
    assert len(result.postponed) == len(result.objects) - 2


def test_an_object_whose_pages_do_not_fit_is_postponed_unread_and_loaded_another_day(serve, ingest, raw) -> None:
    app = DemoApp.generate(scale=0.06, seed=2)
    sim = serve(app)
    objects = len(app.metadata()["application"]["objects"])
    # the metadata call and every object's first page fit; the many pages of the larger objects do not
    result = ingest(sim, request_budget=1 + objects + 1)
    multi_page = [p["object_key"] for p in result.postponed]
    assert multi_page, "some objects have more pages than the budget leaves"
    assert sim.request_count == result.api_requests <= 1 + objects + 1
    for key in multi_page:
        assert raw.rows(key) == {}, f"{key}: nothing of a postponed object is loaded"
        assert "needs" in next(p["reason"] for p in result.postponed if p["object_key"] == key)
    cursors = dict(raw.query("select object_key, cursor_after from audit.object_loads where status = 'postponed'"))
    assert set(cursors) == set(multi_page) and not any(cursors.values()), "a postponed object keeps its cursor"
    later = ingest(sim, request_budget=10_000)
    assert not later.postponed
    for object_key, ids in app.truth().live_ids.items():
        assert raw.live_ids(object_key) == set(ids), object_key


def test_requests_of_an_earlier_utc_day_do_not_count_against_today(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    first = ingest(sim, request_budget=12)
    assert first.api_requests == 8 and not first.postponed
    with closing(connect(raw.database_url, autocommit=True)) as conn, conn.cursor() as cur:
        cur.execute("update audit.object_loads set started_at = started_at - interval '1 day'")  # yesterday's run
    second = ingest(sim, request_budget=12)
    # counted with yesterday's 8, only 4 would be left: one object would wait (test_limits_and_errors.py)
    assert not second.postponed and second.requests_today == second.api_requests > 4
