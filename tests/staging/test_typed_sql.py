"""The typed layer's generated models: severities from the mapping, whole rebuilds when typing changes."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from knackhouse import staging_sql, typed_sql

KNACKPY = Path(__file__).resolve().parents[1] / "fixtures" / "knackpy"


def _objects() -> list[staging_sql.KnackObject]:
    app = json.loads((KNACKPY / "app_metadata.json").read_text())["application"]
    objects = [(o["key"], o["name"], o["name"].lower()) for o in app["objects"]]
    fields = [(o["key"], f["key"], f["name"], f["type"], f.get("format"), f.get("relationship"))
              for o in app["objects"] for f in o["fields"]]
    return staging_sql.build_objects(objects, fields, "America/Chicago")


def _link_severities(files: dict[str, str]) -> dict[str, str]:
    models = yaml.safe_load(files["_knack__typed.yml"])["models"]
    found = {}
    for model in models:
        for column in model["columns"]:
            for test in column.get("data_tests") or []:
                if isinstance(test, dict) and "knack_link_relationships" in test:
                    found[model["name"]] = test["knack_link_relationships"]["config"]["severity"]
    return found


def test_a_dangling_connection_warns_unless_the_mapping_says_otherwise() -> None:
    mapping = {"objects": {"object_4": {"connection_severity": {"field_43": "error"}}}}
    severities = _link_severities(typed_sql.render_project(_objects(), mapping))
    assert severities["knack__orders__customer"] == "error"
    assert severities["knack__orders__pizzas"] == "warn"
    assert severities["knack__all_fields_test__customer"] == "warn"


def test_a_table_typed_differently_now_is_rebuilt_whole_with_its_links() -> None:
    objects = _objects()
    orders = next(o for o in objects if o.key == "object_4")
    stored = {o.table: typed_sql.shape(o) for o in objects} | {"orders": "typed-before"}
    files = typed_sql.render_project(objects, {}, stored)
    assert "full_refresh=true" in files["knack__orders.sql"]
    assert "full_refresh=true" in files["knack__orders__customer.sql"]
    assert "full_refresh=none" in files["knack__customers.sql"]
    assert typed_sql.shape(orders) != "typed-before"


def test_a_table_not_built_yet_needs_no_rebuild() -> None:
    files = typed_sql.render_project(_objects(), {}, {})
    assert all("full_refresh=none" in text for name, text in files.items()
               if name.endswith(".sql") and name != "knack__dangling_connections.sql")


def test_a_link_table_name_past_postgres_limit_is_cut_and_stays_unique() -> None:
    objects = _objects()
    orders = next(o for o in objects if o.key == "object_4")
    orders.table = "o" * 40
    first, second = (f for f in orders.fields if f.type == "connection" and f.key in ("field_43", "field_66"))
    first.slug = second.slug = "a_connection_with_a_label_long_enough_to_cut"
    names = {typed_sql.link_table(orders, first), typed_sql.link_table(orders, second)}
    assert len(names) == 2
    assert all(len(name) == 63 for name in names)
