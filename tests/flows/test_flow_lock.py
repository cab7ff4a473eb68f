"""daily-sync takes the run lock before touching anything."""

from __future__ import annotations

import argparse

import pytest

from flows.cli import run
from flows.daily_sync import RunOptions, daily_sync
from flows.lock import RunLocked, run_lock
from knackhouse.errors import ConfigError
from knackhouse.warehouse import connect


def test_flow_refuses_while_another_run_holds_the_lock(prefect_harness, database_url, settings_for) -> None:
    settings = settings_for(database_url)
    with run_lock(database_url), pytest.raises(RunLocked):
        daily_sync(settings=settings, database_url=database_url, options=RunOptions())
    conn = connect(database_url)
    with conn.cursor() as cur:
        cur.execute("select to_regclass('audit.runs')")
        assert cur.fetchone()[0] is None, "a refused run must record nothing"
    conn.close()


def test_run_without_knack_credentials_is_a_config_error(database_url, settings_for) -> None:
    settings = settings_for(database_url, knack_app_id=None, knack_api_key=None)
    args = argparse.Namespace(dry_run=False, full_refresh=False, reconcile=False, reopen_year=[], as_of=None)
    with pytest.raises(ConfigError, match="KNACK_APP_ID and KNACK_API_KEY"):
        run(args, settings)
