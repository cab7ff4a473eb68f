"""The type of every mapped field, compared with the type it had when the marts were last built.

Knack lets a builder change a field's type (a number becoming a multiple choice) without touching any record,
so nothing an incremental load reads says so: `raw_knack._knack_fields` is replaced on every run, staging then
types the field anew, and the typed models keep yesterday's values for unchanged records next to the new type's
values (or NULLs) for changed ones. So each run whose guards pass records, in `audit.mapped_field_types`, the type
of every field the app mapping names; the next run compares. A changed type is an error-level check (kind
`field_type`) until it is acknowledged: by the mapping (the attribute mapped to another field starts afresh) or by
`knackhouse run --full-refresh`, which rebuilds every record with the new type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from knackhouse.app_config import AppConfig

DDL = """
create schema if not exists audit;
create table if not exists audit.mapped_field_types (
    role text primary key,
    object_key text not null,
    field_key text not null,
    field_type text not null,
    run_id text not null,
    recorded_at timestamptz not null default now()
);
"""
KIND = "field_type"
TABLE = "raw_knack._knack_fields"
HOW_TO_ACKNOWLEDGE = ("check the field in Knack and the app mapping, then run `knackhouse run --full-refresh` to "
                      "rebuild every record with the new type (or map the attribute to another field)")


@dataclass(frozen=True)
class MappedField:
    role: str  # where the mapping names it, e.g. entities.vespa_results.fields.cycle
    object_key: str
    field_key: str
    field_type: str | None  # None: the app's metadata has no such field
    label: str = ""


@dataclass(frozen=True)
class TypeCheck:
    """One check for the guards: observed 1 for an unacknowledged change, else 0; bounds 0..0."""

    name: str
    observed: float
    describe: str
    basis: str


def mapped_roles(mapping: AppConfig) -> dict[str, tuple[str, str]]:
    """Every place the mapping names a field: role -> (object key, field key)."""
    roles: dict[str, tuple[str, str]] = {}
    for entity in mapping.entities.values():
        for attribute, field_key in entity.fields.items():
            roles[f"entities.{entity.name}.fields.{attribute}"] = (entity.object_key, field_key)
    for object_key in (mapping.raw.get("objects") or {}):
        modified = mapping.modified_field(object_key)
        if modified:
            roles[f"objects.{object_key}.modified_field"] = (object_key, modified)
        for field_key in mapping.email_fields(object_key):
            roles[f"objects.{object_key}.email_fields.{field_key}"] = (object_key, field_key)
    return roles


def current_fields(cur: Any, mapping: AppConfig) -> list[MappedField]:
    """The mapped fields with their type in this run's metadata."""
    cur.execute("select object_key, field_key, type, name from raw_knack._knack_fields")
    types = {(o, f): (t, n) for o, f, t, n in cur.fetchall()}
    roles = sorted(mapped_roles(mapping).items())
    return [MappedField(role, o, f, *types.get((o, f), (None, ""))) for role, (o, f) in roles]


def recorded_fields(cur: Any) -> dict[str, MappedField]:
    cur.execute(DDL)
    cur.execute("select role, object_key, field_key, field_type from audit.mapped_field_types")
    return {role: MappedField(role, o, f, t) for role, o, f, t in cur.fetchall()}


def type_checks(conn: Any, mapping: AppConfig, *, full_refresh: bool) -> list[TypeCheck]:
    """One check per mapped field whose type changed since the marts were last built, or one passing check."""
    with conn.cursor() as cur:
        now = current_fields(cur, mapping)
        before = recorded_fields(cur)
    conn.commit()
    checks = []
    for field in now:
        old = before.get(field.role)
        if old is None or (old.object_key, old.field_key) != (field.object_key, field.field_key):
            continue  # newly mapped: nothing to compare with (recorded when this run passes)
        if field.field_type is None or old.field_type == field.field_type:
            continue
        describe = (f"{field.role}: field {field.field_key} ({field.label}) of {field.object_key} is now "
                    f"{field.field_type}, the marts were built from it as {old.field_type}")
        if full_refresh:
            checks.append(TypeCheck(f"{field.role} type", 0.0, describe,
                                    "acknowledged by --full-refresh: every record is rebuilt with the new type"))
        else:
            checks.append(TypeCheck(f"{field.role} type", 1.0, describe,
                                    f"a mapped field's type may not change unacknowledged: {HOW_TO_ACKNOWLEDGE}"))
    if not checks:
        checks.append(TypeCheck("mapped field types", 0.0,
                                f"{len(now)} mapped fields have the types the marts were last built from",
                                "recorded when the guards last passed"))
    return checks


def record_types(conn: Any, mapping: AppConfig, run_id: str) -> None:
    """Remember the type of every mapped field (the run passed its guards: its marts are the ones published)."""
    with conn.cursor() as cur:
        now = [f for f in current_fields(cur, mapping) if f.field_type is not None]
        cur.execute(DDL)
        cur.execute("delete from audit.mapped_field_types")
        cur.executemany("insert into audit.mapped_field_types (role, object_key, field_key, field_type, run_id) "
                        "values (%s, %s, %s, %s, %s)",
                        [(f.role, f.object_key, f.field_key, f.field_type, run_id) for f in now])
    conn.commit()
