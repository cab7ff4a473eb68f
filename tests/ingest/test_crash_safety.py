"""A run killed with SIGKILL at any point leaves raw_knack consistent; the next run completes the work exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knackhouse.warehouse import connect
from simulator import Faults

RUNNER = """
import ingest.pipeline as pipeline
from knackhouse.settings import Settings
pipeline.BATCH_RECORDS = 400          # many small loads, so a kill can land between and inside them
settings = Settings.from_env()
pipeline.run_ingest(settings, settings.database_url, progress=False)
"""


def _loads_done(database_url: str) -> int:
    connection = connect(database_url, autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select to_regclass('raw_knack._dlt_loads') is not null")
            if not cursor.fetchone()[0]:
                return 0
            cursor.execute("select count(*) from raw_knack._dlt_loads")
            return int(cursor.fetchone()[0])
    finally:
        connection.close()


@pytest.mark.parametrize("kill_when", ["while reading pages", "after the first load"])
def test_a_run_killed_mid_way_is_completed_exactly_by_the_next_run(kill_when, demo_app, serve, ingest, raw,
                                                                    settings_of, database_url) -> None:
    sim = serve(demo_app, faults=Faults(slow_seconds=0.15))
    settings = settings_of(sim)
    env = {**os.environ, "KNACKHOUSE_HOME": str(settings.home), "KNACKHOUSE_DATABASE_URL": database_url,
           "KNACK_APP_ID": sim.app_id, "KNACK_API_KEY": sim.api_key, "KNACK_API_URL": sim.base_url}
    env.pop("KNACKHOUSE_APP_CONFIG", None)
    child = subprocess.Popen([sys.executable, "-c", RUNNER], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and child.poll() is None:
            if kill_when == "while reading pages" and sim.request_count >= 4:
                break
            if kill_when == "after the first load" and _loads_done(database_url) >= 1:
                break
            time.sleep(0.01)
        assert child.poll() is None, "the run ended before it could be killed"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    sim.faults = Faults()
    ingest(sim)
    truth = demo_app.truth()
    for object_key, ids in truth.live_ids.items():
        rows = raw.rows(object_key)
        assert set(rows) == set(ids), object_key
        sent = {rid: json.loads(demo_app.tables[object_key].render(rid)) for rid in ids}
        assert {i: r["record"] for i, r in rows.items()} == sent, object_key
        assert all(r["_deleted_at"] is None for r in rows.values())


class _KilledWhileArchiving(BaseException):
    """Stands in for a SIGKILL at the one instant a subprocess kill can't be aimed at."""


def test_a_run_killed_between_a_package_s_completion_and_its_archiving_is_finished_by_the_next_run(
        demo_app, serve, ingest, raw, monkeypatch) -> None:
    from dlt.common.storages.load_storage import LoadStorage

    def complete_then_die(self: LoadStorage, load_id: str, aborted: bool) -> None:
        self.normalized_packages.complete_loading_package(load_id, "aborted" if aborted else "loaded")
        raise _KilledWhileArchiving(load_id)

    sim = serve(demo_app)
    monkeypatch.setattr(LoadStorage, "complete_load_package", complete_then_die)
    with pytest.raises(_KilledWhileArchiving):
        ingest(sim)
    monkeypatch.undo()
    ingest(sim)
    for object_key, ids in demo_app.truth().live_ids.items():
        assert set(raw.rows(object_key)) == set(ids), object_key


class _KilledWhileDeleting(BaseException):
    """Stands in for a SIGKILL while dlt's normalize deletes a package it has just committed."""


def test_a_run_killed_while_normalize_deletes_its_extracted_files_does_not_wedge_the_next_run(
        demo_app, serve, ingest, raw, monkeypatch) -> None:
    from dlt.common.storages.load_package import PackageStorage

    delete_package = PackageStorage.delete_package

    def delete_schema_then_die(self: PackageStorage, load_id: str, not_exists_ok: bool = False) -> None:
        package = Path(self.storage.make_full_path(self.get_package_path(load_id)))
        if package.parent.name != "extracted":
            return delete_package(self, load_id, not_exists_ok)
        (package / "schema.json").unlink()  # the first file rmtree took before the kill
        raise _KilledWhileDeleting(load_id)

    sim = serve(demo_app)
    monkeypatch.setattr(PackageStorage, "delete_package", delete_schema_then_die)
    with pytest.raises(_KilledWhileDeleting):
        ingest(sim)
    monkeypatch.undo()
    ingest(sim)
    ingest(sim)  # and the run after it too
    for object_key, ids in demo_app.truth().live_ids.items():
        assert set(raw.rows(object_key)) == set(ids), object_key
