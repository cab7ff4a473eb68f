"""Disk retention: after a success, dlt's loaded packages and files older than KNACKHOUSE_RETENTION_DAYS go; a
package a crashed run left behind stays, and dlt still loads it."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from knackhouse.errors import ConfigError
from knackhouse.retention import prune
from knackhouse.settings import Settings
from knackhouse.warehouse import dlt_credentials

DAY = 86400.0


def _age(home: Path, days: float) -> None:
    """Everything under the home as if written `days` ago."""
    then = time.time() - days * DAY
    for path in home.rglob("*"):
        os.utime(path, (then, then), follow_symlinks=False)


def test_retention_prunes_loaded_packages_and_old_files_but_keeps_a_crashed_runs_package(
        database_url: str, tmp_path: Path) -> None:
    import dlt

    home = tmp_path / "home"
    pipeline = dlt.pipeline(pipeline_name="retention", destination=dlt.destinations.postgres(
        dlt_credentials(database_url)), dataset_name="raw_retention",
        pipelines_dir=str(home / "dlt" / "pipelines"))
    pipeline.run([{"id": 1, "email": "ada@example.org"}], table_name="people")
    pipeline.extract([{"id": 2, "email": "bob@example.org"}], table_name="people")
    pipeline.normalize()  # a run killed here leaves a normalized package the next run must load
    pending = list(pipeline.list_normalized_load_packages())
    assert len(pending) == 1 and len(pipeline.list_completed_load_packages()) == 1
    aged = [home / "reports" / "old.md", home / "gx" / "gx" / "uncommitted" / "validations" / "s" / "r" / "x.json",
            home / "dbt" / "logs" / "dbt.log.1", home / "dbt" / "target" / "run" / "gone.sql"]
    for path in aged:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("old")
    _age(home, 20)
    recent = [home / "reports" / "recent.md", home / "dbt" / "logs" / "dbt.log"]
    for path in recent:
        path.write_text("recent")
    os.utime(recent[0], (time.time() - 13 * DAY,) * 2)  # inside the 14 days

    pruned = prune(Settings(home=home), datetime.now(UTC))

    assert pruned.packages == 1 and pruned.files == len(aged) and not pruned.errors
    assert list(home.glob("dlt/pipelines/*/load/loaded/*")) == []
    assert [p for p in aged if p.exists()] == [] and all(p.exists() for p in recent)
    assert not (home / "dbt" / "target" / "run").exists(), "emptied folders go too"
    resumed = dlt.pipeline(pipeline_name="retention", pipelines_dir=str(home / "dlt" / "pipelines"),
                           destination=dlt.destinations.postgres(dlt_credentials(database_url)),
                           dataset_name="raw_retention")
    assert list(resumed.list_normalized_load_packages()) == pending
    resumed.load()
    with resumed.sql_client() as client:
        assert client.execute_sql("select count(*) from people")[0][0] == 2


def test_retention_days_are_a_setting_with_a_default() -> None:
    assert Settings.from_env({}).retention_days == 14
    assert Settings.from_env({"KNACKHOUSE_RETENTION_DAYS": "30"}).retention_days == 30
    with pytest.raises(ConfigError, match="KNACKHOUSE_RETENTION_DAYS must be a number of days"):
        Settings.from_env({"KNACKHOUSE_RETENTION_DAYS": "two weeks"})
