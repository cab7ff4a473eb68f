"""One dbt-built warehouse per module: the shipped project plus small hand-written staging views.

The staging views stand in for generated staging (same column conventions); the app mapping and
`knack_staging` vars come from `fixture_vars.json`, so no demo key appears in the models.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest

import dbt_project
from knackhouse.warehouse import dbt_env

HERE = Path(__file__).parent
BASE_URL = os.environ.get("KNACKHOUSE_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class MartsWarehouse:
    """A throwaway database with the dbt project copied beside it; runs dbt as a subprocess."""

    def __init__(self, root: Path, url: str) -> None:
        self.dir = root / "project"
        self.url = url
        shutil.copytree(dbt_project.PROJECT_DIR, self.dir, ignore=lambda _d, n: [x for x in n if x.startswith("__")])
        shutil.copytree(HERE / "fixture_staging", self.dir / "models" / "staging" / "fixture")
        self.vars: dict[str, Any] = json.loads((HERE / "fixture_vars.json").read_text())

    def dbt(self, *args: str, **extra_vars: Any) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **dbt_env(self.url), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        cmd = [
            str(Path(sys.executable).parent / "dbt"),
            *args,
            "--project-dir",
            str(self.dir),
            "--profiles-dir",
            str(self.dir),
            "--vars",
            json.dumps({**self.vars, **extra_vars}),
        ]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=self.dir, timeout=600)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with psycopg2.connect(self.url) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else []


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MartsWarehouse]:
    name = f"marts_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(BASE_URL)
    admin.autocommit = True
    admin.cursor().execute(f"create database {name}")
    url = BASE_URL.rsplit("/", 1)[0] + "/" + name
    try:
        wh = MartsWarehouse(tmp_path_factory.mktemp("marts"), url)
        built = wh.dbt("build", as_of_date="2026-09-01")
        assert built.returncode == 0, built.stdout[-4000:]
        yield wh
    finally:  # a failed build too: no database left behind on the server
        admin.cursor().execute(f"drop database {name} with (force)")
        admin.close()
