"""A Knack app's metadata: its objects and fields, the raw table of each object, and field drift.

The rows built here fill `raw_knack._knack_app`, `_knack_objects`, `_knack_fields` and
`_knack_field_changes` (docs/architecture.md, "raw_knack").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingest.timezones import iana_timezone
from knackhouse.errors import KnackApiError

MAX_TABLE_NAME = 55  # PostgreSQL allows 63; dlt's staging and constraint names need a little room


@dataclass(frozen=True)
class KnackField:
    """One field of an object, as the metadata describes it."""

    key: str
    name: str
    type: str
    format: dict[str, Any] | None
    relationship: dict[str, Any] | None
    required: bool
    position: int


@dataclass(frozen=True)
class KnackObject:
    """One object of the app and its fields in metadata order."""

    key: str
    name: str
    fields: tuple[KnackField, ...]

    def field(self, key: str) -> KnackField | None:
        return next((f for f in self.fields if f.key == key), None)


@dataclass(frozen=True)
class AppMetadata:
    """The body of `GET /applications/{app_id}`, read."""

    app_id: str
    name: str
    slug: str
    timezone: str | None
    timezone_iana: str
    objects: tuple[KnackObject, ...]
    body: dict[str, Any] = field(repr=False)

    def object(self, key: str) -> KnackObject | None:
        return next((o for o in self.objects if o.key == key), None)


def parse_metadata(body: Mapping[str, Any], app_id: str) -> AppMetadata:
    """Read the metadata body; a body without objects is a KnackApiError naming the app."""
    application = body.get("application") if isinstance(body, Mapping) else None
    if not isinstance(application, Mapping) or not isinstance(application.get("objects"), list):
        raise KnackApiError(f"Knack app {app_id}: the metadata answer has no application objects")
    objects = []
    for obj in application["objects"]:
        fields = tuple(
            KnackField(
                key=str(f["key"]),
                name=str(f.get("name") or f["key"]),
                type=str(f.get("type") or "unknown"),
                format=f.get("format") if isinstance(f.get("format"), dict) else None,
                relationship=f.get("relationship") if isinstance(f.get("relationship"), dict) else None,
                required=bool(f.get("required")),
                position=position,
            )
            for position, f in enumerate(obj.get("fields") or [])
        )
        objects.append(KnackObject(key=str(obj["key"]), name=str(obj.get("name") or obj["key"]), fields=fields))
    timezone = (application.get("settings") or {}).get("timezone")
    return AppMetadata(
        app_id=str(application.get("id") or app_id),
        name=str(application.get("name") or ""),
        slug=str(application.get("slug") or ""),
        timezone=timezone,
        timezone_iana=iana_timezone(timezone),
        objects=tuple(objects),
        body=dict(body),
    )


def slug(name: str) -> str:
    """`VESPA Results` → `vespa_results`: lower case, runs of anything else → one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def assign_table_names(objects: Iterable[KnackObject], known: Mapping[str, str]) -> dict[str, str]:
    """Object key → raw table name: the known name when the object had one, else the slug of its name.

    A name already taken (two objects with the same slug), empty or starting with a digit gets the
    object key added, so no two objects ever share a table; no slug starts with `_` (the metadata
    tables' and dlt's prefix).
    """
    names = dict(known)
    taken = set(names.values())
    for obj in objects:
        if obj.key in names:
            continue
        base = slug(obj.name)[:MAX_TABLE_NAME].strip("_")
        if not base or base[0].isdigit() or base in taken:
            base = f"{slug(obj.key)}_{base}".strip("_")[:MAX_TABLE_NAME].strip("_")
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        names[obj.key] = candidate
        taken.add(candidate)
    return names


def app_row(meta: AppMetadata, loaded_at: datetime) -> dict[str, Any]:
    return {
        "app_id": meta.app_id,
        "name": meta.name,
        "slug": meta.slug,
        "timezone": meta.timezone,
        "timezone_iana": meta.timezone_iana,
        "metadata": meta.body,
        "loaded_at": loaded_at,
    }


def object_rows(objects: Iterable[KnackObject], tables: Mapping[str, str],
                modified_fields: Mapping[str, str | None]) -> list[dict[str, Any]]:
    return [
        {"object_key": o.key, "name": o.name, "table_name": tables[o.key], "modified_field": modified_fields.get(o.key)}
        for o in objects
    ]


def field_rows(objects: Iterable[KnackObject]) -> list[dict[str, Any]]:
    return [
        {
            "object_key": o.key,
            "field_key": f.key,
            "name": f.name,
            "type": f.type,
            "format": f.format,
            "relationship": f.relationship,
            "required": f.required,
            "position": f.position,
        }
        for o in objects
        for f in o.fields
    ]


def field_changes(previous: Iterable[Mapping[str, Any]], objects: Iterable[KnackObject],
                  detected_at: datetime, run_id: str) -> list[dict[str, Any]]:
    """What changed since the stored `_knack_fields`: fields added, removed, renamed or given another type.

    Nothing is reported when there is no previous metadata (the first load).
    """
    before = {(p["object_key"], p["field_key"]): p for p in previous}
    if not before:
        return []
    known_objects = {key for key, _ in before}
    after = {(o.key, f.key): f for o in objects for f in o.fields}
    changes: list[dict[str, Any]] = []

    def change(key: tuple[str, str], kind: str, old: Any, new: Any, detail: str) -> None:
        changes.append({"object_key": key[0], "field_key": key[1], "change": kind, "old_value": old,
                        "new_value": new, "detail": detail, "detected_at": detected_at, "run_id": run_id})

    for key, f in after.items():
        old = before.get(key)
        if old is None:
            if key[0] in known_objects:
                change(key, "added", None, f.type, f"field {f.key} {f.name!r} ({f.type}) added")
            continue
        if old.get("type") != f.type:
            change(key, "type_changed", old.get("type"), f.type,
                   f"field {f.key} {f.name!r} changed type from {old.get('type')} to {f.type}")
        if old.get("name") != f.name:
            change(key, "renamed", old.get("name"), f.name, f"field {f.key} renamed from {old.get('name')!r}")
    for key, old in before.items():
        if key not in after:
            change(key, "removed", old.get("type"), None, f"field {key[1]} {old.get('name')!r} removed")
    return changes
