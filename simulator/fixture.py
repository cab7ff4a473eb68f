"""Replay a fixed Knack app from JSON files: its metadata plus records exactly as Knack sent them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from simulator.app import KnackApp
from simulator.knack_values import date_time_values, iana_zone, id_created_at
from simulator.store import NUMERIC_TYPES, Field, Table

METADATA_FILE = "app_metadata.json"


class JsonTable(Table):
    """A table whose records are kept as the JSON documents Knack sent, typed only for filters and sort."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.documents: dict[str, dict[str, Any]] = {}

    def add_document(self, document: dict[str, Any]) -> None:
        self.documents[document["id"]] = document
        self.insert(document["id"], tuple(typed_value(f, document) for f in self.fields))

    def record_json(self, record_id: str) -> dict[str, Any]:
        return self.documents[record_id]

    def render_text(self, record_id: str) -> str:
        return json.dumps(self.documents[record_id], ensure_ascii=False, separators=(",", ":"))

    def update(self, record_id: str, values: tuple[Any, ...]) -> None:
        document = dict(self.documents.get(record_id) or {"id": record_id})
        for spec, value in zip(self.fields, values, strict=True):
            if spec.type == "date_time" and isinstance(value, datetime):
                document[spec.key], document[f"{spec.key}_raw"] = date_time_values(
                    value, spec.date_format, spec.time_format)
        self.documents[record_id] = document
        super().update(record_id, values)

    def clone(self, source_id: str, record_id: str, values: tuple[Any, ...]) -> None:
        self.documents[record_id] = {**self.documents[source_id], "id": record_id}
        self.update(record_id, values)

    def delete(self, record_id: str) -> None:
        self.documents.pop(record_id, None)
        super().delete(record_id)


def typed_value(spec: Field, document: dict[str, Any]) -> Any:
    """The typed value of one field of a Knack JSON record (see `Table` for the typed forms)."""
    raw_key = f"{spec.key}_raw"
    if raw_key not in document:
        return () if spec.type == "connection" else None
    raw = document[raw_key]
    if spec.type == "connection":
        return tuple(item.get("id") for item in raw or [] if isinstance(item, dict))
    if spec.type == "date_time":
        stamp = raw.get("iso_timestamp") if isinstance(raw, dict) else None
        return datetime.fromisoformat(stamp[:16]) if stamp else None
    if spec.type == "email":
        return raw.get("email") if isinstance(raw, dict) else raw
    if spec.type == "name":
        return raw if isinstance(raw, dict) else None
    if spec.type in NUMERIC_TYPES:
        try:
            return float(raw)
        except (TypeError, ValueError):
            return None
    if spec.type == "boolean":
        return bool(raw)
    if isinstance(raw, str):
        return raw
    formatted = document.get(spec.key)
    return formatted if isinstance(formatted, str) else json.dumps(raw, sort_keys=True)


class FixtureApp(KnackApp):
    """A Knack app replayed from `app_metadata.json` and record files (`{"records": [...]}`).

    A record file named `object_N.json` holds that object's records; any other `*.json` file is
    matched to the object whose field keys its records use (e.g. knackpy's `all_fields_records.json`
    → `object_3`). Objects without a file are empty.
    """

    def __init__(self, metadata: dict[str, Any], records: dict[str, list[dict[str, Any]]]):
        application = metadata["application"]
        self._metadata = metadata
        tables: list[Table] = []
        for obj in application["objects"]:
            fields = [Field(key=f["key"], name=f.get("name", f["key"]), type=f.get("type", "short_text"),
                            format=f.get("format"), relationship=f.get("relationship"),
                            required=bool(f.get("required")), unique=bool(f.get("unique")))
                      for f in obj.get("fields", [])]
            tables.append(JsonTable(key=obj["key"], name=obj.get("name", obj["key"]), fields=fields,
                                    identifier=obj.get("identifier")))
        created = [id_created_at(doc["id"]) for docs in records.values() for doc in docs]
        zone = iana_zone(application.get("settings", {}).get("timezone", "UTC"))
        latest = max(created).astimezone(zone).replace(tzinfo=None) if created else datetime(2020, 1, 1)
        super().__init__(app_id=application.get("id", "0" * 24), name=application.get("name", "app"),
                         slug=application.get("slug", "app"),
                         timezone=application.get("settings", {}).get("timezone", "UTC"),
                         account_slug=application.get("account", {}).get("slug", "account"),
                         tables=tables, now=latest + timedelta(days=1), id_salt=0x5151515151)
        self.identifiers: dict[str, str] = {}
        for object_key, docs in records.items():
            table = self.tables[object_key]
            assert isinstance(table, JsonTable)
            for doc in docs:
                table.add_document(doc)
                for spec in table.fields:
                    if spec.type == "connection":
                        for item in doc.get(f"{spec.key}_raw") or []:
                            if isinstance(item, dict) and item.get("id"):
                                self.identifiers[item["id"]] = str(item.get("identifier", ""))

    def identifier_of(self, object_key: str, record_id: str) -> str:
        own = super().identifier_of(object_key, record_id)
        return own or self.identifiers.get(record_id, "")

    def metadata(self) -> dict[str, Any]:
        return self._metadata

    @classmethod
    def load(cls, directory: Path | str) -> FixtureApp:
        """Read a fixture folder; a clear ValueError names a file that is not what it should be."""
        folder = Path(directory)
        metadata_path = folder / METADATA_FILE
        if not metadata_path.is_file():
            raise ValueError(f"{folder}: no {METADATA_FILE} (the body of GET /v1/applications/<app id>)")
        metadata = json.loads(metadata_path.read_text())
        if "application" not in metadata:
            raise ValueError(f"{metadata_path}: expected an object with an 'application' key")
        field_keys = {obj["key"]: {f["key"] for f in obj.get("fields", [])}
                      for obj in metadata["application"]["objects"]}
        records: dict[str, list[dict[str, Any]]] = {}
        for path in sorted(folder.glob("*.json")):
            if path.name == METADATA_FILE:
                continue
            body = json.loads(path.read_text())
            docs = body.get("records") if isinstance(body, dict) else body
            if not isinstance(docs, list):
                raise ValueError(f"{path}: expected {{'records': [...]}} or a list of records")
            object_key = path.stem if path.stem in field_keys else _object_of(docs, field_keys, path)
            records.setdefault(object_key, []).extend(docs)
        return cls(metadata, records)


def _object_of(docs: list[dict[str, Any]], field_keys: dict[str, set[str]], path: Path) -> str:
    used = {k.removesuffix("_raw") for doc in docs for k in doc if k != "id"}
    best = max(field_keys, key=lambda key: (len(used & field_keys[key]), key))
    if not used & field_keys[best]:
        raise ValueError(f"{path}: its records use no field of any object in the metadata")
    return best
