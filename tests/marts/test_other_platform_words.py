"""An app whose establishments say "Live"/"Lapsed" and "mentoring hub" instead of "Active"/"Cancelled" and
"coaching portal": with those words in its mapping, the real flow keeps and flags the right establishments."""

from __future__ import annotations

import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.daily_sync import RunOptions, run_flow
from knackhouse import warehouse
from knackhouse.app_config import DEMO_MAPPING_PATH
from knackhouse.settings import Settings
from simulator import DemoApp, SimulatorServer
from simulator.demo_schema import E_PORTAL, E_STATUS, ESTABLISHMENTS, S_ESTABLISHMENT, STUDENTS

WORDS = {"Active": "Live", "Cancelled": "Lapsed", "Trial": "Pilot", "coaching portal": "mentoring hub",
         "COACHING PORTAL": "MENTORING  HUB", "RESOURCE PORTAL": "Library Hub"}


@dataclass
class Built:
    outcome: Any
    url: str
    establishments: dict[str, tuple[Any, ...]]
    students: dict[str, tuple[Any, ...]]

    def ids(self, sql: str) -> set[str]:
        with closing(warehouse.connect(self.url)) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return {row[0] for row in cur.fetchall()}


@pytest.fixture(scope="module")
def built(prefect_harness, server_url, tmp_path_factory) -> Any:
    home = tmp_path_factory.mktemp("words")
    raw = yaml.safe_load(DEMO_MAPPING_PATH.read_text())
    raw["entities"]["establishments"].update(active_statuses=["Live"], coaching_portal_types=["%mentoring hub%"])
    mapping = Path(home / "mapping.yml")
    mapping.write_text(yaml.safe_dump(raw))
    name = f"kh_words_{uuid.uuid4().hex[:10]}"
    url = warehouse.create_database(server_url, name)
    try:
        app = DemoApp(scale=0.005, seed=3, words=WORDS)
        with SimulatorServer(app) as sim:
            settings = Settings(home=home / "home", knack_app_id=sim.app_id, knack_api_key=sim.api_key,
                                knack_api_url=sim.base_url, app_config=mapping)
            outcome = run_flow(settings, url, RunOptions(as_of=app.today))
        yield Built(outcome, url, dict(app.tables[ESTABLISHMENTS].rows), dict(app.tables[STUDENTS].rows))
    finally:
        warehouse.drop_database(server_url, name)


def test_the_run_publishes(built):
    assert built.outcome.exit_code == 0, built.outcome.summary.get("headline")


def test_establishments_with_the_apps_active_status_are_the_active_ones(built):
    live = {rid for rid, row in built.establishments.items() if row[E_STATUS] == "Live"}
    assert live and len(live) < len(built.establishments), "the app has live and lapsed establishments"
    assert built.ids("select knack_id from marts.dim_establishments where is_active") == live


def test_students_of_a_lapsed_establishment_are_held_back(built):
    lapsed = {rid for rid, row in built.establishments.items() if row[E_STATUS] == "Lapsed"}
    theirs = {rid for rid, row in built.students.items() if set(row[S_ESTABLISHMENT] or ()) & lapsed}
    assert theirs, "some students are connected to a lapsed establishment"
    quarantined = built.ids("select knack_id from quarantine.rejected_records "
                            "where entity = 'students' and reason = 'cancelled_establishment'")
    assert theirs <= quarantined
    assert not theirs & built.ids("select unnest(knack_ids) from marts.dim_students")


def test_coaching_portals_are_the_apps_portal_type(built):
    hubs = {rid for rid, row in built.establishments.items()
            if "mentoring hub" in " ".join((row[E_PORTAL] or "").lower().split())}
    assert hubs and len(hubs) < len(built.establishments)
    assert built.ids("select knack_id from marts.dim_establishments where is_coaching_portal") == hubs
