"""The records endpoint's paging envelope, the row clamp, headers and error statuses."""

from __future__ import annotations

import requests
from knack_client import Client

from simulator import DemoApp, SimulatorServer


def test_a_page_comes_in_the_paging_envelope(demo: Client, demo_app: DemoApp) -> None:
    body = demo.page("object_3", page=2, rows_per_page=100)
    total = len(demo_app.tables["object_3"].rows)
    assert set(body) == {"total_pages", "current_page", "total_records", "records"}
    assert body["current_page"] == 2
    assert body["total_records"] == total
    assert body["total_pages"] == -(-total // 100)
    assert len(body["records"]) == 100


def test_rows_per_page_defaults_to_25(demo: Client) -> None:
    assert len(demo.page("object_3")["records"]) == 25


def test_rows_per_page_above_1000_is_clamped_to_1000(demo: Client, demo_app: DemoApp) -> None:
    body = demo.page("object_4", rows_per_page=5000)
    assert len(demo_app.tables["object_4"].rows) > 1000
    assert len(body["records"]) == 1000
    assert body["total_pages"] == -(-body["total_records"] // 1000)


def test_a_page_past_the_end_is_empty(demo: Client) -> None:
    body = demo.page("object_1", page=99, rows_per_page=1000)
    assert body["records"] == [] and body["current_page"] == 99


def test_pages_cover_every_record_once(demo: Client, demo_app: DemoApp) -> None:
    ids = [r["id"] for r in demo.scan("object_3")]
    assert len(ids) == len(set(ids)) == len(demo_app.tables["object_3"].rows)


def test_a_trailing_slash_is_accepted(demo: Client) -> None:
    assert demo.get("/objects/object_1/records/").status_code == 200


def test_a_wrong_api_key_is_401(demo: Client) -> None:
    response = demo.get("/objects/object_1/records", key="not-the-key")
    assert response.status_code == 401
    assert "errors" in response.json()


def test_a_missing_api_key_is_401(demo_sim: SimulatorServer) -> None:
    response = requests.get(f"{demo_sim.base_url}/objects/object_1/records",
                            headers={"X-Knack-Application-Id": demo_sim.app_id}, timeout=10)
    assert response.status_code == 401


def test_a_wrong_application_id_is_401(demo_sim: SimulatorServer) -> None:
    response = requests.get(f"{demo_sim.base_url}/objects/object_1/records", timeout=10,
                            headers={"X-Knack-Application-Id": "0" * 24, "X-Knack-REST-API-Key": demo_sim.api_key})
    assert response.status_code == 401


def test_an_unknown_object_is_404(demo: Client) -> None:
    assert demo.get("/objects/object_99/records").status_code == 404


def test_one_record_by_id(demo: Client, demo_app: DemoApp) -> None:
    record_id = sorted(demo_app.tables["object_2"].rows)[3]
    response = demo.get(f"/objects/object_2/records/{record_id}")
    assert response.status_code == 200
    assert response.json()["id"] == record_id


def test_an_unknown_record_id_is_404(demo: Client) -> None:
    assert demo.get("/objects/object_2/records/" + "f" * 24).status_code == 404


def test_metadata_needs_no_key_and_lists_objects_fields_timezone_and_account(demo_sim: SimulatorServer) -> None:
    body = requests.get(f"{demo_sim.base_url}/applications/{demo_sim.app_id}", timeout=10).json()
    application = body["application"]
    assert application["id"] == demo_sim.app_id
    assert application["settings"]["timezone"] == "Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London"
    assert application["account"]["slug"]
    assert [o["key"] for o in application["objects"]] == ["object_1", "object_2", "object_3", "object_4"]
    field = application["objects"][3]["fields"][0]
    assert {"key", "name", "type", "required"} <= set(field)


def test_metadata_of_an_unknown_app_is_404(demo_sim: SimulatorServer) -> None:
    assert requests.get(f"{demo_sim.base_url}/applications/{'0' * 24}", timeout=10).status_code == 404


def test_the_request_counter_counts_per_object_and_resets(demo_app: DemoApp) -> None:
    with SimulatorServer(demo_app, seed=1) as sim:
        client = Client(sim)
        client.page("object_1")
        client.page("object_3")
        client.page("object_3", page=2)
        assert sim.request_count == 3
        assert sim.object_request_counts["object_3"] == 2
        sim.reset_counter()
        client.page("object_1")
        assert sim.request_count == 1
