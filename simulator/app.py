"""What every simulated Knack app has: metadata, tables, a clock, record ids, and change under a scan."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from simulator.knack_values import iana_zone, object_id, utc_seconds
from simulator.store import Table


class KnackApp:
    """A Knack application held in memory: the server reads it, the generator changes it.

    `now` is the app's wall clock (naive, in the app's time zone). Every change goes through
    `insert`/`update`/`delete` so deletions are remembered for the ground truth.
    """

    def __init__(self, *, app_id: str, name: str, slug: str, timezone: str, account_slug: str,
                 tables: list[Table], now: datetime, id_salt: int, modified_fields: dict[str, str] | None = None):
        self.app_id = app_id
        self.name = name
        self.slug = slug
        self.timezone = timezone
        self.account_slug = account_slug
        self.tables: dict[str, Table] = {t.key: t for t in tables}
        self.now = now
        self.lock = threading.RLock()
        self.modified_fields = dict(modified_fields or {})
        self.deleted: dict[str, list[str]] = {t.key: [] for t in tables}
        self._id_salt = id_salt
        self._serial = 0
        for table in tables:
            table.resolver = self.identifier_of
            table.clock = lambda: self.now

    @property
    def zone(self) -> ZoneInfo:
        return iana_zone(self.timezone)

    @property
    def today(self) -> Any:
        return self.now.date()

    def identifier_of(self, object_key: str, record_id: str) -> str:
        table = self.tables.get(object_key)
        return table.identifier_text(record_id) if table else ""

    def new_id(self, created: datetime) -> str:
        """A fresh record id whose first 8 hex digits are `created` (wall clock) as true Unix seconds."""
        self._serial += 1
        return object_id(utc_seconds(created, self.zone), self._serial, self._id_salt)

    # ---- metadata ----
    def metadata(self) -> dict[str, Any]:
        counts: dict[str, int] = {key: len(t.rows) for key, t in self.tables.items()}
        counts["total_entries"] = sum(counts.values())
        return {"application": {
            "id": self.app_id, "name": self.name, "slug": self.slug,
            "account": {"slug": self.account_slug, "name": self.account_slug, "status": "active"},
            "counts": counts,
            "objects": [t.metadata() for t in self.tables.values()],
            "scenes": [],
            "settings": {"timezone": self.timezone, "language": ""},
        }}

    # ---- change ----
    def insert(self, object_key: str, values: tuple[Any, ...], created: datetime) -> str:
        record_id = self.new_id(created)
        self.tables[object_key].insert(record_id, values)
        return record_id

    def delete(self, object_key: str, record_id: str) -> None:
        self.delete_many(object_key, [record_id])

    def delete_many(self, object_key: str, record_ids: list[str]) -> None:
        """Delete records; the records linking to them are re-rendered once, however many went."""
        for record_id in record_ids:
            self.tables[object_key].delete(record_id)
            self.deleted[object_key].append(record_id)
        if record_ids:
            self._links_changed(object_key)

    def _links_changed(self, object_key: str) -> None:
        """Records that connect to `object_key` show its identifiers: render them afresh."""
        for table in self.tables.values():
            if any(f.type == "connection" and (f.relationship or {}).get("object") == object_key
                   for f in table.fields):
                table.forget_rendered()

    def touch(self, object_key: str, record_id: str, values: tuple[Any, ...] | None = None,
              when: datetime | None = None) -> None:
        """Store new values for a record and set its modified field to `when` (default now)."""
        table = self.tables[object_key]
        row = list(values if values is not None else table.rows[record_id])
        modified = self.modified_fields.get(object_key)
        if modified is not None:
            row[table.index[modified]] = (when or self.now).replace(second=0, microsecond=0)
        identifier = table.index.get(table.identifier or "")
        renamed = identifier is not None and row[identifier] != table.rows[record_id][identifier]
        table.update(record_id, tuple(row))
        if renamed:
            self._links_changed(object_key)

    def tie_modified(self, object_key: str, when: datetime | None = None) -> int:
        """Give every record of the object the same "Date Modified" minute (default now), as a bulk update
        does: a sort on that field then leaves their order to the tie-break. Returns how many were set."""
        modified = self.modified_fields.get(object_key)
        if modified is None:
            raise ValueError(f"object {object_key} has no modified field to tie")
        with self.lock:
            table = self.tables[object_key]
            position = table.index[modified]
            minute = (when or self.now).replace(second=0, microsecond=0)
            for record_id, row in list(table.rows.items()):
                table.update(record_id, row[:position] + (minute,) + row[position + 1:])
            return len(table.rows)

    def set_value(self, object_key: str, record_id: str, field_key: str, value: Any,
                  when: datetime | None = None) -> None:
        """Set one field of a record as a Knack user or an import could, then its modified field (see `touch`).

        Any value the field's type holds is taken as is, however absurd: text with NUL characters
        (``"Jo\\x00hn"``, which PostgreSQL cannot store), a score of 1e300, a JSON object in a number field, an
        address with a zero-width space, or for the modified field itself a far-future time (``datetime(9999,
        12, 31, 23, 59)``, as a bad import leaves it), which then stays the record's modified time.
        """
        with self.lock:
            table = self.tables[object_key]
            row = list(table.rows[record_id])
            row[table.index[field_key]] = value
            if field_key == self.modified_fields.get(object_key):
                when = value
            self.touch(object_key, record_id, tuple(row), when=when)

    def change_field_type(self, object_key: str, field_key: str, new_type: str,
                          convert: Callable[[Any], Any] = lambda value: value,
                          field_format: dict[str, Any] | None = None) -> None:
        """What a builder's type change does in Knack: the metadata shows the new type and every stored value is
        converted (`convert`, given each non-empty value), but no record's modified field moves, so an incremental
        scan reads none of them."""
        with self.lock:
            table = self.tables[object_key]
            position = table.index[field_key]
            spec = table.fields[position]
            new_format = spec.format if field_format is None else field_format
            table.fields[position] = replace(spec, type=new_type, format=new_format)
            for record_id, row in table.rows.items():
                if row[position] is not None and row[position] != "":
                    table.rows[record_id] = (*row[:position], convert(row[position]), *row[position + 1:])
            table.version += 1
            table.forget_rendered()

    def churn(self, object_key: str, rng: random.Random, inserts: int, deletes: int, modifies: int) -> None:
        """Change an object the way a busy app does while a client pages through it (page-shift fault)."""
        with self.lock:
            table = self.tables[object_key]
            if not table.rows:
                return
            self.now += timedelta(seconds=1)
            ids = sorted(table.rows)
            for _ in range(inserts):
                source = rng.choice(ids)
                row = list(table.rows[source])
                modified = self.modified_fields.get(object_key)
                if modified is not None:
                    row[table.index[modified]] = self.now.replace(second=0, microsecond=0)
                table.clone(source, self.new_id(self.now), tuple(row))
            for record_id in rng.sample(ids, min(deletes, len(ids))):
                self.delete(object_key, record_id)
            remaining = sorted(table.rows)
            for record_id in rng.sample(remaining, min(modifies, len(remaining))):
                self.touch(object_key, record_id)
