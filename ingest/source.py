"""The `@dlt.source` for raw_knack: metadata tables and one merged table per Knack object (see ingest/__init__)."""


from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.csv as pa_csv
from dlt.extract.resource import DltResource

from ingest.settings import SOURCE_NAME

RAW_COLUMNS: dict[str, dict[str, Any]] = {
    "id": {"data_type": "text", "nullable": False, "primary_key": True},
    "record": {"data_type": "json", "nullable": False},
    "_knack_created_at": {"data_type": "timestamp", "nullable": True},
    "_knack_modified_at": {"data_type": "timestamp", "nullable": True},
    "_first_seen_at": {"data_type": "timestamp", "nullable": False},
    "_last_seen_at": {"data_type": "timestamp", "nullable": False},
    "_deleted_at": {"data_type": "timestamp", "nullable": True},
    "_dlt_load_id": {"data_type": "text", "nullable": False},
    "_dlt_id": {"data_type": "text", "nullable": False},
}
MERGE = {"disposition": "merge", "strategy": "upsert"}
METADATA_TABLES: dict[str, dict[str, Any]] = {
    "_knack_app": {
        "primary_key": "app_id", "write_disposition": "replace",
        "columns": {"app_id": {"data_type": "text", "nullable": False}, "name": {"data_type": "text"},
                    "slug": {"data_type": "text"}, "timezone": {"data_type": "text"},
                    "timezone_iana": {"data_type": "text"}, "metadata": {"data_type": "json"},
                    "loaded_at": {"data_type": "timestamp"}},
    },
    "_knack_objects": {
        "primary_key": "object_key", "write_disposition": "replace",
        "columns": {"object_key": {"data_type": "text", "nullable": False}, "name": {"data_type": "text"},
                    "table_name": {"data_type": "text"}, "modified_field": {"data_type": "text", "nullable": True}},
    },
    "_knack_fields": {
        "primary_key": ["object_key", "field_key"], "write_disposition": "replace",
        "columns": {"object_key": {"data_type": "text", "nullable": False},
                    "field_key": {"data_type": "text", "nullable": False}, "name": {"data_type": "text"},
                    "type": {"data_type": "text"}, "format": {"data_type": "json", "nullable": True},
                    "relationship": {"data_type": "json", "nullable": True}, "required": {"data_type": "bool"},
                    "position": {"data_type": "bigint"}},
    },
    "_knack_field_changes": {
        "primary_key": None, "write_disposition": "append",
        "columns": {"object_key": {"data_type": "text"}, "field_key": {"data_type": "text"},
                    "change": {"data_type": "text"}, "old_value": {"data_type": "text", "nullable": True},
                    "new_value": {"data_type": "text", "nullable": True}, "detail": {"data_type": "text"},
                    "detected_at": {"data_type": "timestamp"}, "run_id": {"data_type": "text"}},
    },
}


@dataclass
class LoadBatch:
    """What one dlt load writes: metadata rows (first batch of a run), arrow tables per raw table, state."""

    metadata: dict[str, list[dict[str, Any]]] | None = None
    tables: dict[str, list[pa.Table]] = field(default_factory=dict)
    table_names: dict[str, str] | None = None
    cursors: dict[str, datetime | None] = field(default_factory=dict)
    object_tables: dict[str, str] = field(default_factory=dict)
    import_dir: Path | None = None
    append_tables: frozenset[str] = frozenset()  # created by this run: its rows are new, so no merge is needed

    @property
    def rows(self) -> int:
        return sum(t.num_rows for tables in self.tables.values() for t in tables)


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def knack_source(batch: LoadBatch) -> Iterator[DltResource]:
    """raw_knack's tables for one batch: the metadata tables and one merged table per Knack object."""
    if batch.metadata is not None:
        for name, spec in METADATA_TABLES.items():
            rows = batch.metadata.get(name, [])
            if spec["write_disposition"] == "append" and not rows:
                continue
            yield dlt.resource(
                _rows(rows, batch.table_names if name == "_knack_objects" else None),
                name=name, write_disposition=spec["write_disposition"], primary_key=spec["primary_key"],
                columns=spec["columns"],
            )
    by_table = {table: key for key, table in batch.object_tables.items()}
    for table_name in sorted(set(batch.tables) | {batch.object_tables[k] for k in batch.cursors}):
        object_key = by_table[table_name]
        cursor = batch.cursors.get(object_key, ...)  # Ellipsis: the object's scan has not finished yet
        yield dlt.resource(
            _object_rows(batch.tables.get(table_name, []), object_key, cursor, batch.import_dir),
            name=table_name, write_disposition="append" if table_name in batch.append_tables else MERGE,
            primary_key="id", columns=RAW_COLUMNS,
        )


def _rows(rows: list[dict[str, Any]], table_names: dict[str, str] | None) -> Iterator[list[dict[str, Any]]]:
    if rows:
        yield rows
    if table_names is not None:
        dlt.current.source_state()["tables"] = dict(table_names)


def _object_rows(tables: list[pa.Table], object_key: str, cursor: Any, import_dir: Path | None) -> Iterator[Any]:
    """The object's rows as one CSV file dlt imports as it is (COPY), then its new cursor into dlt state.

    The CSV is written here, by pyarrow, with this load's id: dlt neither re-reads nor re-types the rows.
    """
    if tables:
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        load_id = dlt.current.load_package_state()["load_id"]
        table = table.append_column("_dlt_load_id", pa.array([load_id] * table.num_rows, pa.string()))
        if import_dir is None:
            yield table
        else:
            path = import_dir / f"{object_key}_{uuid.uuid4().hex}.csv"
            pa_csv.write_csv(table, path)
            yield dlt.mark.with_file_import(str(path), "csv", items_count=table.num_rows)
    if cursor is not ...:
        cursors = dlt.current.source_state().setdefault("cursors", {})
        if cursor is None:
            cursors.pop(object_key, None)
        else:
            cursors[object_key] = cursor.isoformat()
