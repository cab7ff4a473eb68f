"""Same seed, same app, same bytes; keys fixed across seeds and scales; the mapping fits the metadata."""

from __future__ import annotations

from knack_client import Client

from knackhouse.app_config import load_app_config
from simulator.demo import DemoApp
from simulator.faults import Faults
from simulator.server import SimulatorServer

REQUESTS = [
    ("/objects/object_3/records", {"rows_per_page": 1000, "page": 1}),
    ("/objects/object_4/records", {"rows_per_page": 500, "page": 2, "sort_field": "field_30", "sort_order": "desc"}),
    ("/objects/object_4/records", {"filters": '[{"field":"field_31","operator":"is after","value":"01/09/2025"}]'}),
]


def responses(seed: int, faults: Faults | None = None) -> list[bytes]:
    app = DemoApp.generate(scale=0.01, seed=seed)
    with SimulatorServer(app, faults=faults, seed=seed) as sim:
        client = Client(sim)
        bodies = [client.get(f"/applications/{sim.app_id}").content]
        bodies += [client.get(path, **params).content for path, params in REQUESTS]
        return bodies


def test_the_same_seed_gives_byte_identical_responses() -> None:
    assert responses(3) == responses(3)


def test_the_same_seed_replays_a_page_shift_byte_for_byte() -> None:
    shift = Faults(page_shift_inserts=2, page_shift_deletes=2, page_shift_modifies=2)
    assert responses(4, shift) == responses(4, shift)


def test_another_seed_gives_another_app() -> None:
    assert responses(3)[1] != responses(8)[1]


def test_generation_is_deterministic_for_a_seed() -> None:
    first, second = DemoApp.generate(scale=0.01, seed=9), DemoApp.generate(scale=0.01, seed=9)
    for key in first.tables:
        assert first.tables[key].rows == second.tables[key].rows
    first.advance(3)
    second.advance(3)
    assert first.tables["object_4"].rows == second.tables["object_4"].rows


def test_object_and_field_keys_are_the_same_for_every_seed_and_scale() -> None:
    def keys(app: DemoApp) -> list[tuple[str, list[str]]]:
        return [(o["key"], [f["key"] for f in o["fields"]]) for o in app.metadata()["application"]["objects"]]

    assert keys(DemoApp.generate(scale=0.01, seed=1)) == keys(DemoApp.generate(scale=0.03, seed=77))


def test_the_demo_mapping_validates_against_the_demo_metadata(demo_app: DemoApp) -> None:
    config = load_app_config(None)
    config.validate(demo_app.metadata())
    assert config.email_fields("object_4") == ["field_20"]
    assert all(config.modified_field(key) for key in demo_app.tables)
