"""Incident 14: five copies of the sync existed and nobody knew which ran. knackhouse has one entry point
(the `knackhouse` command), one deployment with one schedule, and one run at a time per warehouse (a
PostgreSQL advisory lock): a second run started during the first refuses with a clear message."""

from __future__ import annotations

import threading
import time
import tomllib
from pathlib import Path

from flows.lock import RunLocked

ROOT = Path(__file__).resolve().parents[2]


def test_a_second_run_during_the_first_refuses_and_loads_nothing(pipeline):
    pipeline.app.advance(1)
    runs_before = pipeline.scalar("select count(*) from audit.runs")
    outcomes, errors = [], []

    def first() -> None:
        outcomes.append(pipeline.run())

    thread = threading.Thread(target=first)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and pipeline.scalar(
            "select count(*) from pg_locks l join pg_database d on d.oid = l.database "
            "where l.locktype = 'advisory' and l.granted and d.datname = current_database()") == 0:
        time.sleep(0.05)
    try:
        pipeline.run()
    except RunLocked as error:
        errors.append(error)
    thread.join(timeout=300)
    assert len(errors) == 1 and "another knackhouse run holds the run lock" in str(errors[0])
    assert [o.exit_code for o in outcomes] == [0]
    assert pipeline.scalar("select count(*) from audit.runs") == runs_before + 1


def test_there_is_one_entry_point_and_one_schedule():
    from flows.cli import deployment
    from knackhouse.settings import DEFAULT_CRON, Settings

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"knackhouse": "knackhouse.cli:main"}
    deployed = deployment(Settings(home=ROOT / ".knackhouse"))
    assert deployed.name == "daily" and len(deployed.schedules) == 1
    assert deployed.schedules[0].schedule.cron == DEFAULT_CRON
