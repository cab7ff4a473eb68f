"""What ingest reads back from raw_knack: existing rows (first seen, retired, content), live ids, stored fields.

Reads only; every write to raw_knack goes through dlt. Identifiers are quoted with psycopg2's `sql`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from psycopg2 import sql

from ingest.settings import DATASET_NAME
from knackhouse.warehouse import connect, relation_exists

LOOKUP_CHUNK = 5000


def table_exists(connection: Any, table: str, schema: str = DATASET_NAME) -> bool:
    with connection.cursor() as cursor:
        return relation_exists(cursor, sql.Identifier(schema, table).as_string(connection))


def has_rows(connection: Any, table: str) -> bool:
    if not table_exists(connection, table):
        return False
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("select exists (select 1 from {})").format(sql.Identifier(DATASET_NAME, table)))
        return bool(cursor.fetchone()[0])


def has_live_rows_unseen_since(connection: Any, table: str, since: datetime) -> bool:
    """Whether the table holds a live row no read at or after `since` saw (its `_last_seen_at` is older)."""
    if not table_exists(connection, table):
        return False
    query = sql.SQL("select exists (select 1 from {} where _deleted_at is null and _last_seen_at < %s)").format(
        sql.Identifier(DATASET_NAME, table))
    with connection.cursor() as cursor:
        cursor.execute(query, (since,))
        return bool(cursor.fetchone()[0])


def existing_rows(connection: Any, table: str, ids: list[str]) -> dict[str, tuple[datetime, datetime | None, str]]:
    """id → (_first_seen_at, _deleted_at, record as text) for the ids the table already holds."""
    found: dict[str, tuple[datetime, datetime | None, str]] = {}
    query = sql.SQL("select id, _first_seen_at, _deleted_at, record::text from {} where id = any(%s)").format(
        sql.Identifier(DATASET_NAME, table))
    with connection.cursor() as cursor:
        for start in range(0, len(ids), LOOKUP_CHUNK):
            cursor.execute(query, (ids[start:start + LOOKUP_CHUNK],))
            for record_id, first_seen, deleted_at, record in cursor:
                found[record_id] = (first_seen, deleted_at, record)
    return found


def live_ids(connection: Any, table: str, page_size: int = 50_000) -> Iterator[str]:
    """Ids of the rows not yet retired, read in primary-key order a page at a time (memory stays flat)."""
    query = sql.SQL("select id from {} where _deleted_at is null and id > %s order by id limit %s").format(
        sql.Identifier(DATASET_NAME, table))
    last = ""
    with connection.cursor() as cursor:
        while True:
            cursor.execute(query, (last, page_size))
            ids = [row[0] for row in cursor.fetchall()]
            yield from ids
            if len(ids) < page_size:
                return
            last = ids[-1]


def rows_to_retire(connection: Any, table: str, ids: list[str]) -> Iterator[tuple[Any, ...]]:
    """(id, record text, created, modified, first seen, last seen) of rows about to be retired."""
    query = sql.SQL(
        "select id, record::text, _knack_created_at, _knack_modified_at, _first_seen_at, _last_seen_at"
        " from {} where id = any(%s) and _deleted_at is null"
    ).format(sql.Identifier(DATASET_NAME, table))
    with connection.cursor() as cursor:
        for start in range(0, len(ids), LOOKUP_CHUNK):
            cursor.execute(query, (ids[start:start + LOOKUP_CHUNK],))
            yield from cursor.fetchall()


def stored_fields(database_url: str) -> list[dict[str, Any]]:
    """The `_knack_fields` rows of the previous load (empty before the first)."""
    connection = connect(database_url)
    try:
        if not table_exists(connection, "_knack_fields"):
            return []
        with connection.cursor() as cursor:
            cursor.execute(f"select object_key, field_key, name, type from {DATASET_NAME}._knack_fields")
            return [dict(zip(("object_key", "field_key", "name", "type"), row, strict=True)) for row in cursor]
    finally:
        connection.close()


def stored_table_names(database_url: str) -> dict[str, str]:
    """object key → table name as `_knack_objects` records it (used when dlt's state is not there)."""
    connection = connect(database_url)
    try:
        if not table_exists(connection, "_knack_objects"):
            return {}
        with connection.cursor() as cursor:
            cursor.execute(f"select object_key, table_name from {DATASET_NAME}._knack_objects")
            return {key: name for key, name in cursor if name}
    finally:
        connection.close()


def chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
