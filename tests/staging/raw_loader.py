"""Writes a Knack app's metadata and records into raw_knack exactly as the ingest contract describes.

Used by the staging tests until they can run ingest itself; follows docs/architecture.md "raw_knack".
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from psycopg2.extras import Json, execute_values

from knackhouse.warehouse import connect

ZONES = {"Central Time (US & Canada)": "America/Chicago", "London": "Europe/London", "UTC": "UTC"}

DDL = """
create schema if not exists raw_knack;
create table if not exists raw_knack._knack_app (app_id text primary key, name text, slug text, timezone text,
    timezone_iana text, metadata jsonb, loaded_at timestamptz);
create table if not exists raw_knack._knack_objects (object_key text primary key, name text, table_name text,
    modified_field text);
create table if not exists raw_knack._knack_fields (object_key text, field_key text, name text, type text,
    format jsonb, relationship jsonb, required boolean, position int, primary key (object_key, field_key));
create table if not exists raw_knack._dlt_loads (load_id text not null, schema_name text, status bigint not null,
    inserted_at timestamptz not null, schema_version_hash text);
"""


def table_name(object_name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", object_name.lower()).strip("_")


def load_metadata(database_url: str, metadata: dict[str, Any]) -> dict[str, str]:
    """Replace the metadata tables; returns object key -> table name."""
    app = metadata.get("application", metadata)
    zone = (app.get("settings") or {}).get("timezone") or "UTC"
    tables: dict[str, str] = {}
    with connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(DDL)
        cur.execute(
            "delete from raw_knack._knack_app; delete from raw_knack._knack_objects;"
            " delete from raw_knack._knack_fields;"
        )
        cur.execute(
            "insert into raw_knack._knack_app values (%s, %s, %s, %s, %s, %s, now())",
            (app.get("id", "app"), app.get("name"), app.get("slug"), zone, ZONES.get(zone, zone), Json(app)),
        )
        for obj in app["objects"]:
            tables[obj["key"]] = table_name(obj["name"])
            cur.execute(
                "insert into raw_knack._knack_objects values (%s, %s, %s, null)",
                (obj["key"], obj["name"], tables[obj["key"]]),
            )
            for position, f in enumerate(obj["fields"]):
                cur.execute(
                    "insert into raw_knack._knack_fields values (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        obj["key"],
                        f["key"],
                        f["name"],
                        f["type"],
                        Json(f.get("format")),
                        Json(f.get("relationship")),
                        bool(f.get("required")),
                        position,
                    ),
                )
            cur.execute(
                f'create table if not exists raw_knack."{tables[obj["key"]]}" (id text primary key, record jsonb,'
                " _knack_created_at timestamptz, _knack_modified_at timestamptz, _first_seen_at timestamptz,"
                " _last_seen_at timestamptz, _deleted_at timestamptz, _dlt_load_id text, _dlt_id text)"
            )
    return tables


def load_records(database_url: str, table: str, records: list[dict[str, Any]]) -> str:
    """Upsert the records as one completed load, as dlt would (its load id a Unix time); returns the load id."""
    now = datetime.now(UTC)
    load_id = f"{time.time():.6f}"
    rows = []
    for r in records:
        created = datetime.fromtimestamp(int(r["id"][:8], 16), UTC) if re.fullmatch(r"[0-9a-f]{24}", r["id"]) else now
        rows.append((r["id"], json.dumps(r), created, None, now, now, None, load_id, r["id"]))
    with connect(database_url) as conn, conn.cursor() as cur:
        execute_values(
            cur,
            f'insert into raw_knack."{table}" values %s on conflict (id) do update set'
            " record = excluded.record, _last_seen_at = excluded._last_seen_at, _dlt_load_id = excluded._dlt_load_id",
            rows,
        )
        cur.execute("insert into raw_knack._dlt_loads values (%s, 'knack', 0, now(), null)", (load_id,))
    return load_id
