"""The run lock and the alert webhook."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from flows.alerts import send_alert
from flows.lock import RunLocked, run_lock
from tests.receiver import receiving


def test_second_run_refuses_while_first_holds_the_lock(database_url: str) -> None:
    with run_lock(database_url), pytest.raises(RunLocked, match="another knackhouse run"):  # noqa: SIM117
        with run_lock(database_url, wait_seconds=0.6):
            pass


def test_lock_is_free_again_after_the_run(database_url: str) -> None:
    with run_lock(database_url):
        pass
    with run_lock(database_url):
        pass


def test_killed_process_releases_the_lock(database_url: str) -> None:
    code = (
        "import sys, time\nfrom flows.lock import run_lock\n"
        "with run_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, database_url], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(RunLocked), run_lock(database_url):
            pass
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        with run_lock(database_url, wait_seconds=10):
            pass
    finally:
        if proc.poll() is None:
            proc.kill()


def test_alert_posts_the_summary_to_the_webhook() -> None:
    with receiving() as webhook:
        assert send_alert(webhook.url("/hook"), {"headline": "daily-sync failed in ingest", "exit_code": 3})
        received = webhook.bodies
    assert received == [{"text": "daily-sync failed in ingest", "headline": "daily-sync failed in ingest",
                         "exit_code": 3}]


def test_no_webhook_configured_sends_nothing() -> None:
    start = time.monotonic()
    assert send_alert(None, {"headline": "x"}) is False
    assert time.monotonic() - start < 1
