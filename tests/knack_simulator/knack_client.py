"""A Knack REST client as plain as a loader's, for the simulator's tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from simulator import SimulatorServer

KNACKPY_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "knackpy"


class Client:
    """A Knack REST client as plain as a loader's: GET with the two headers."""

    def __init__(self, sim: SimulatorServer):
        self.sim = sim
        self.session = requests.Session()

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"X-Knack-Application-Id": self.sim.app_id, "X-Knack-REST-API-Key": key or self.sim.api_key}

    def get(self, path: str, key: str | None = None, **params: Any) -> requests.Response:
        if isinstance(params.get("filters"), dict | list):
            params["filters"] = json.dumps(params["filters"])
        return self.session.get(self.sim.base_url + path, headers=self.headers(key), params=params, timeout=30)

    def page(self, object_key: str, **params: Any) -> dict[str, Any]:
        response = self.get(f"/objects/{object_key}/records", **params)
        assert response.status_code == 200, response.text
        return response.json()

    def scan(self, object_key: str, rows_per_page: int = 1000, **params: Any) -> list[dict[str, Any]]:
        """Every record of an object, page by page, stopping on an empty page."""
        records: list[dict[str, Any]] = []
        for page in range(1, 10_000):
            body = self.page(object_key, page=page, rows_per_page=rows_per_page, **params)
            if not body["records"]:
                break
            records.extend(body["records"])
        return records
