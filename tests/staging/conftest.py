"""Staging fixtures: one database and one dbt build per test module (a dbt build takes seconds)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from knackhouse import warehouse
from knackhouse.settings import Settings

KNACKPY = Path(__file__).resolve().parents[1] / "fixtures" / "knackpy"


@pytest.fixture(scope="module")
def module_database(server_url: str) -> Iterator[str]:
    """A fresh database shared by the tests of one module, dropped afterwards."""
    name = f"kh_stg_{uuid.uuid4().hex[:12]}"
    admin = warehouse.connect(server_url, autocommit=True)
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    try:
        yield warehouse.with_database(server_url, name)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory, module_database: str) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("staging") / "home", database_url=module_database)


@pytest.fixture(scope="module")
def knackpy_app() -> tuple[dict, list[dict]]:
    metadata = json.loads((KNACKPY / "app_metadata.json").read_text())
    records = json.loads((KNACKPY / "all_fields_records.json").read_text())["records"]
    return metadata, records


@pytest.fixture(scope="module")
def query(module_database: str) -> Callable[..., list[tuple]]:
    def run(sql: str, params: tuple = ()) -> list[tuple]:
        with warehouse.connect(module_database) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    return run
