"""A run refused the lock alerts and names the holder (pid, host, since when), and says when the lock is stale:
a frozen run (here a real process that took the lock and was stopped with SIGSTOP) no longer blocks silently."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from flows.daily_sync import RunOptions, daily_sync
from flows.lock import RunLocked
from tests.receiver import receiving

HOLD = ("import sys, time\nfrom flows.lock import run_lock\n"
        "with run_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(120)\n")


@pytest.fixture
def frozen_holder(database_url: str) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the run lock, stopped (SIGSTOP) as a frozen run would be."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, database_url], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        os.kill(proc.pid, signal.SIGSTOP)
        yield proc
    finally:
        proc.kill()  # SIGKILL ends a stopped process too
        proc.wait(timeout=30)


@pytest.fixture
def alert_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """A local webhook that records every alert posted to it, named in KNACKHOUSE_ALERT_WEBHOOK."""
    with receiving() as webhook:
        monkeypatch.setenv("KNACKHOUSE_ALERT_WEBHOOK", webhook.url("/hook"))
        yield webhook.bodies


def test_a_run_blocked_by_a_frozen_run_alerts_naming_the_holder_and_a_stale_lock(
        prefect_harness, database_url, settings_for, frozen_holder, alert_receiver) -> None:
    settings = settings_for(database_url)
    with pytest.raises(RunLocked) as refused:
        daily_sync(settings=settings, database_url=database_url, options=RunOptions())
    assert f"pid {frozen_holder.pid} on host {socket.gethostname()}, since " in str(refused.value)
    assert not refused.value.stale and "STALE" not in str(refused.value)
    assert len(alert_receiver) == 1
    alert = alert_receiver[0]
    assert alert["status"] == "blocked" and alert["lock_stale"] is False
    assert "another knackhouse run holds the run lock" in alert["text"]
    holder = alert["lock_holder"]
    assert (holder["pid"], holder["host"]) == (frozen_holder.pid, socket.gethostname())
    assert datetime.fromisoformat(holder["started_at"]) <= datetime.now().astimezone()

    stale_settings = replace(settings, lock_stale_hours=1e-6)  # any lock held longer than 3.6 ms is stale
    with pytest.raises(RunLocked, match="STALE") as stale:
        daily_sync(settings=stale_settings, database_url=database_url, options=RunOptions())
    assert stale.value.stale and f"pg_terminate_backend({stale.value.holder.backend_pid})" in str(stale.value)
    assert len(alert_receiver) == 2 and alert_receiver[1]["lock_stale"] is True
    assert "STALE" in alert_receiver[1]["text"]
