"""SQL for the staging layer, generated from a Knack app's stored metadata (any app, no per-app code).

Each Knack field becomes one or more typed columns (docs/architecture.md, "Staging:
generated for any app"); values that cannot be parsed become NULL and a row in `stg_knack__parse_problems`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

BASE_COLUMNS = (
    "knack_id", "created_at", "modified_at", "first_seen_at", "last_seen_at", "deleted_at", "is_deleted", "load_id",
)
NUMERIC_TYPES = {"number", "currency", "rating", "auto_increment", "sum", "average", "count", "min", "max"}
PARTS: dict[str, tuple[str, ...]] = {
    "email": ("", "is_malformed"),
    "name": ("first", "middle", "last", "full"),
    "date_time": ("", "local_date", "end"),
    "connection": ("ids", "identifiers"),
    "address": ("street", "street2", "city", "state", "zip", "country", "latitude", "longitude", "full"),
    "phone": ("full", "formatted", "area", "number"),
    "link": ("url",),
    "file": ("url", "filename"),
    "image": ("url", "filename"),
}
NUMBER_RE = r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$"
EMAIL_RE = r"^[^@[:space:]<>]+@[^@[:space:]<>]+\.[^@[:space:]<>]+$"
# a staging test's `where` placeholder: only rows of loads the test has not yet passed on (tested_loads.sql)
UNTESTED_LOADS = "__untested_loads__"
ISO_RE = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}"
# ingest's notes in a record (ingest/values.py): the fields it removed NUL characters from
INGEST_MARKER, NUL_REMOVED = "_knackhouse", "nul_removed"
DEFAULT_FUTURE_TOLERANCE_MINUTES = 60
# Unicode format characters that print as nothing (soft hyphen, zero-width spaces and joiners, direction
# marks, word joiner, byte-order mark): removed from emails after NFKC, before they are compared
INVISIBLE_RE = r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"


@dataclass
class KnackField:
    key: str
    label: str
    type: str
    format: dict[str, Any]
    relationship: dict[str, Any]
    slug: str = ""
    as_email: bool = False

    @property
    def parts(self) -> tuple[str, ...]:
        return PARTS.get("email" if self.as_email else self.type, ("",))

    def column(self, part: str = "") -> str:
        return f"{self.slug}_{part}" if part else self.slug


@dataclass
class KnackObject:
    key: str
    name: str
    table: str
    zone: str
    fields: list[KnackField] = field(default_factory=list)
    modified_field: str | None = None


def slugify(label: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:50].strip("_")
    return slug if slug and not slug[0].isdigit() else f"f_{slug}".rstrip("_")


def _key_number(key: str) -> tuple[int, str]:
    digits = re.sub(r"\D", "", key)
    return (int(digits) if digits else 0, key)


def assign_slugs(fields: list[KnackField]) -> None:
    """Slug each label; older fields (lower key number) win a clash, so names stay stable as fields are added."""
    taken = set(BASE_COLUMNS)
    for f in sorted(fields, key=lambda f: _key_number(f.key)):
        base = slugify(f.label)
        candidate, n = base, 1
        while any((f"{candidate}_{p}" if p else candidate) in taken for p in f.parts):
            n += 1
            candidate = f"{base}_{n}"
        f.slug = candidate
        taken.update(f.column(p) for p in f.parts)


def build_objects(objects: list[tuple], fields: list[tuple], zone: str) -> list[KnackObject]:
    by_key = {row[0]: KnackObject(row[0], row[1], row[2], zone, modified_field=row[3] if len(row) > 3 else None)
              for row in objects}
    for object_key, field_key, label, ftype, fmt, rel in fields:
        if object_key in by_key:
            by_key[object_key].fields.append(
                KnackField(field_key, label or field_key, ftype or "short_text", _as_dict(fmt), _as_dict(rel))
            )
    for obj in by_key.values():
        assign_slugs(obj.fields)
    return list(by_key.values())


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _raw(f: KnackField) -> str:
    return f"(record -> {_lit(f.key + '_raw')})"


def _scalar(r: str) -> str:
    return f"nullif(case when jsonb_typeof({r}) in ('string', 'number', 'boolean') then {r} #>> '{{}}' end, '')"


def _email_source(f: KnackField) -> str:
    r = _raw(f)
    value = f"case jsonb_typeof({r}) when 'object' then {r} ->> 'email' when 'string' then {r} #>> '{{}}' end"
    return f"nullif(trim({value}), '')"


def _unicode_clean(src: str) -> str:
    """NFKC-normalised text without invisible format characters (a zero-width space pasted into an address)."""
    return f"regexp_replace(normalize({src}, NFKC), {_lit(INVISIBLE_RE)}, '', 'g')"


def _email_clean(src: str) -> str:
    no_html = f"regexp_replace({_unicode_clean(src)}, '<[^>]*>', '', 'g')"
    return (
        f"nullif(lower(trim(regexp_replace(replace({no_html}, '&nbsp;', ' '), '^[[:space:]]*mailto:', '', 'i'))), '')"
    )


def _number(r: str) -> str:
    cleaned = f"regexp_replace({_scalar(r)}, '[,$£€[:space:]]', '', 'g')"
    return f"case when {cleaned} ~ {_lit(NUMBER_RE)} then ({cleaned})::numeric end"


def _safe_timestamp(ok: str, y: str, m: str, d: str, hh: str, mi: str) -> str:
    """A timestamp from integer parts that never raises: an impossible date (31/02) gives NULL."""
    first = f"make_date({y}, {m}, 1)"
    day = f"({first} + ({d} - 1))"
    return (
        f"case when {ok} and {m} between 1 and 12 and {d} between 1 and 31 and {hh} between 0 and 23"
        f" and {mi} between 0 and 59 and extract(month from {day}) = {m}"
        f" then {day} + make_interval(hours => {hh}, mins => {mi}) end"
    )


def _wall(r: str, date_format: str = "mm/dd/yyyy") -> str:
    """The wall-clock time Knack shows: the `iso_timestamp` digits (local time labelled Z), else the raw parts."""
    iso = f"({r} ->> 'iso_timestamp')"
    iso_ok = f"coalesce({iso} ~ {_lit(ISO_RE)}, false)"
    from_iso = _safe_timestamp(
        iso_ok, *(f"substr({iso}, {a}, {n})::int" for a, n in ((1, 4), (6, 2), (9, 2), (12, 2), (15, 2)))
    )
    raw_date = f"({r} ->> 'date')"
    date_ok = f"coalesce({raw_date} ~ '^[0-9]{{1,2}}/[0-9]{{1,2}}/[1-9][0-9]{{3}}$', false)"
    first, second = (f"split_part({raw_date}, '/', {i})::int" for i in (1, 2))
    month, day = (second, first) if date_format.lower().startswith("dd") else (first, second)
    year = f"split_part({raw_date}, '/', 3)::int"
    hours_ok = (
        f"coalesce({r} ->> 'hours', '0') ~ '^[0-9]{{1,2}}$' and coalesce({r} ->> 'minutes', '0') ~ '^[0-9]{{1,2}}$'"
    )
    hours = f"coalesce({r} ->> 'hours', '0')::int"
    am_pm = f"upper(coalesce({r} ->> 'am_pm', ''))"
    hour24 = f"(case {am_pm} when 'PM' then {hours} % 12 + 12 when 'AM' then {hours} % 12 else {hours} end)"
    minutes = f"coalesce({r} ->> 'minutes', '0')::int"
    from_parts = _safe_timestamp(f"{date_ok} and {hours_ok}", year, month, day, hour24, minutes)
    return f"case when {iso_ok} then {from_iso} else {from_parts} end"


def field_columns(f: KnackField, zone: str) -> list[tuple[str, str]]:
    """(sql expression, column name) pairs for one field."""
    r = _raw(f)
    if f.as_email or f.type == "email":
        clean = _email_clean(_email_source(f))
        ok = f"({clean} ~ {_lit(EMAIL_RE)})"
        return [
            (f"case when {ok} then {clean} end", f.column()),
            (
                f"case when {_email_source(f)} is null then null else not coalesce({ok}, false) end",
                f.column("is_malformed"),
            ),
        ]
    if f.type == "name":
        parts = {p: f"nullif(trim({r} ->> {_lit(p)}), '')" for p in ("first", "middle", "last")}
        full = f"nullif(concat_ws(' ', {parts['first']}, {parts['middle']}, {parts['last']}), '')"
        return [*((expr, f.column(p)) for p, expr in parts.items()), (full, f.column("full"))]
    if f.type == "date_time":
        fmt = str(f.format.get("date_format") or "mm/dd/yyyy")
        start, end = _wall(r, fmt), _wall(f"({r} -> 'to')", fmt)
        return [
            (f"({start}) at time zone {_lit(zone)}", f.column()),
            (f"({start})::date", f.column("local_date")),
            (f"({end}) at time zone {_lit(zone)}", f.column("end")),
        ]
    if f.type == "connection":
        arr = f"case when jsonb_typeof({r}) = 'array' then {r} end"
        return [
            (
                f"case when {arr} is not null then array(select e ->> 'id' from jsonb_array_elements({arr}) e) end",
                f.column("ids"),
            ),
            (
                f"case when {arr} is not null then"
                f" array(select e ->> 'identifier' from jsonb_array_elements({arr}) e) end",
                f.column("identifiers"),
            ),
        ]
    if f.type in NUMERIC_TYPES:
        return [(_number(r), f.column())]
    if f.type == "boolean":
        v = f"lower({_scalar(r)})"
        return [
            (
                f"case when {v} in ('true', 'yes', 'on', '1') then true"
                f" when {v} in ('false', 'no', 'off', '0') then false end",
                f.column(),
            )
        ]
    if f.type == "multiple_choice":
        if f.format.get("type") in ("multi", "checkboxes"):
            return [
                (
                    f"case jsonb_typeof({r}) when 'array' then array(select jsonb_array_elements_text({r}))"
                    f" when 'string' then array[{r} #>> '{{}}'] end",
                    f.column(),
                )
            ]
        return [(f"case jsonb_typeof({r}) when 'array' then {r} ->> 0 else {_scalar(r)} end", f.column())]
    if f.type == "address":
        cols = []
        for p in ("street", "street2", "city", "state", "zip", "country"):
            cols.append((f"nullif(trim({r} ->> {_lit(p)}), '')", f.column(p)))
        for p in ("latitude", "longitude"):
            cols.append((_number(f"({r} -> {_lit(p)})"), f.column(p)))
        full = ", ".join(
            f"nullif(trim({r} ->> {_lit(p)}), '')" for p in ("street", "street2", "city", "state", "zip", "country")
        )
        cols.append((f"nullif(concat_ws(', ', {full}), '')", f.column("full")))
        return cols
    if f.type == "phone":
        return [(f"nullif({r} ->> {_lit(p)}, '')", f.column(p)) for p in ("full", "formatted", "area", "number")]
    if f.type == "link":
        return [
            (
                f"nullif(case jsonb_typeof({r}) when 'object' then {r} ->> 'url' else {r} #>> '{{}}' end, '')",
                f.column("url"),
            )
        ]
    if f.type in ("file", "image"):
        return [
            (
                f"nullif(case jsonb_typeof({r}) when 'object' then {r} ->> 'url' else {r} #>> '{{}}' end, '')",
                f.column("url"),
            ),
            (f"nullif({r} ->> 'filename', '')", f.column("filename")),
        ]
    return [(f"nullif(case jsonb_typeof({r}) when 'string' then {r} #>> '{{}}' else {r}::text end, '')", f.column())]


def problem_checks(f: KnackField, zone: str) -> list[tuple[str, str]]:
    """(condition true when the raw value is present but could not be parsed, reason)."""
    r = _raw(f)
    present = f"nullif(nullif({r}::text, '\"\"'), 'null') is not null"
    if f.as_email or f.type == "email":
        clean = _email_clean(_email_source(f))
        return [
            (
                f"{_email_source(f)} is not null and not coalesce({clean} ~ {_lit(EMAIL_RE)}, false)",
                "not a valid email address",
            )
        ]
    if f.type == "date_time":
        fmt = str(f.format.get("date_format") or "mm/dd/yyyy")
        return [(f"{present} and ({_wall(r, fmt)}) is null", "not a valid date/time")]
    # any value present counts, not only scalars: a JSON object or array in a number field is a problem too
    if f.type in NUMERIC_TYPES:
        return [(f"{present} and ({_number(r)}) is null", "not a number")]
    if f.type == "boolean":
        expr = field_columns(f, zone)[0][0]
        return [(f"{present} and ({expr}) is null", "not a yes/no value")]
    return []


def _source_ref(obj: KnackObject) -> str:
    return "{{ source('raw_knack', " + _lit(obj.table) + ") }}"


def model_sql(obj: KnackObject) -> str:
    cols = [
        "id as knack_id",
        "_knack_created_at as created_at",
        "_knack_modified_at as modified_at",
        "_first_seen_at as first_seen_at",
        "_last_seen_at as last_seen_at",
        "_deleted_at as deleted_at",
        "_deleted_at is not null as is_deleted",
        "_dlt_load_id as load_id",
    ]
    for f in obj.fields:
        cols += [f"{expr} as {_q(name)}" for expr, name in field_columns(f, obj.zone)]
    body = ",\n        ".join(cols)
    return (
        f"-- generated by knackhouse from the metadata of {obj.key} ({obj.name}); do not edit\n"
        f"with source as (\n    select * from {_source_ref(obj)}\n),\n\n"
        f"typed as (\n    select\n        {body}\n    from source\n)\n\nselect * from typed\n"
    )


def ingest_problems(obj: KnackObject, future_tolerance_minutes: int) -> list[str]:
    """Selects of the problems ingest found in raw rows: NUL characters it removed, a modified time in the future."""
    labels = " ".join(f"when {_lit(f.key)} then {_lit(f.label)}" for f in obj.fields)
    label = f"case p.field_key {labels} end" if labels else "null"
    head = f"select {_lit(obj.key)}::text as object_key, {_lit(obj.table)}::text as table_name, id::text as knack_id,"
    nul = (
        f"{head} p.field_key::text as field_key, ({label})::text as field_name,"
        " (record -> (p.field_key || '_raw'))::text as raw_value,"
        " 'held NUL characters (U+0000), which PostgreSQL cannot store: ingest removed them'::text as reason"
        f"\nfrom {_source_ref(obj)},"
        f" jsonb_array_elements_text(record -> {_lit(INGEST_MARKER)} -> {_lit(NUL_REMOVED)}) as p(field_key)"
        f"\nwhere record ? {_lit(INGEST_MARKER)}"
    )
    modified = next((f for f in obj.fields if f.key == obj.modified_field), None)
    raw_value = f"(record -> {_lit(modified.key + '_raw')})::text" if modified else "_knack_modified_at::text"
    reason = (f"modified time more than {future_tolerance_minutes} minutes after ingest read the record:"
              " kept, but not used for the incremental cursor")
    future = (
        f"{head} {_lit(modified.key) if modified else 'null'}::text as field_key,"
        f" {_lit(modified.label) if modified else 'null'}::text as field_name, {raw_value} as raw_value,"
        f" {_lit(reason)}::text as reason"
        f"\nfrom {_source_ref(obj)}"
        f"\nwhere _knack_modified_at > _last_seen_at + interval {_lit(f'{future_tolerance_minutes} minutes')}"
    )
    return [nul, future]


def problems_sql(objects: list[KnackObject], future_tolerance_minutes: int = DEFAULT_FUTURE_TOLERANCE_MINUTES) -> str:
    parts = []
    for obj in objects:
        parts.extend(ingest_problems(obj, future_tolerance_minutes))
        for f in obj.fields:
            for cond, reason in problem_checks(f, obj.zone):
                parts.append(
                    f"select {_lit(obj.key)}::text as object_key, {_lit(obj.table)}::text as table_name,"
                    " id::text as knack_id,"
                    f" {_lit(f.key)}::text as field_key, {_lit(f.label)}::text as field_name,"
                    f" (record -> {_lit(f.key + '_raw')})::text as raw_value, {_lit(reason)}::text as reason"
                    f"\nfrom {_source_ref(obj)}\nwhere {cond}"
                )
    if not parts:
        return (
            "select null::text as object_key, null::text as table_name, null::text as knack_id,"
            " null::text as field_key,"
            " null::text as field_name, null::text as raw_value, null::text as reason where false\n"
        )
    return (
        "-- generated by knackhouse; one row per value that could not be parsed\n" + "\nunion all\n".join(parts) + "\n"
    )


def model_yaml(obj: KnackObject, by_key: dict[str, KnackObject]) -> dict[str, Any]:
    columns: list[dict[str, Any]] = [
        {"name": "knack_id", "description": "Knack record id", "data_tests": ["unique_knack_id", "not_null"]},
        {"name": "created_at", "description": "when Knack created the record (from its ObjectId)"},
        {"name": "modified_at", "description": "true UTC time of the object's modified field"},
        {"name": "first_seen_at", "description": "first load that saw the record"},
        {"name": "last_seen_at", "description": "last load that saw the record"},
        {"name": "deleted_at", "description": "when a reconcile scan found the record gone from Knack"},
        {"name": "is_deleted", "description": "deleted_at is set"},
        {"name": "load_id", "description": "the dlt load that last wrote the raw row (incremental models read newer)"},
    ]
    for f in obj.fields:
        target = by_key.get(str(f.relationship.get("object") or ""))
        for _expr, name in field_columns(f, obj.zone):
            desc = f"{f.label} ({f.key}, Knack {f.type}{', as email' if f.as_email else ''})"
            col: dict[str, Any] = {
                "name": name,
                "description": desc,
                "meta": {
                    "field_key": f.key,
                    "knack_type": f.type,
                    "part": name[len(f.slug) + 1 :] if name != f.slug else None,
                },
            }
            if f.type == "connection" and target:
                col["description"] += f"; connects to {target.name} ({target.key})"
                if name.endswith("_ids"):
                    col["data_tests"] = [
                        {
                            "knack_connection": {
                                "arguments": {"to": "ref('stg_knack__" + target.table + "')", "field": f.key},
                                "config": {"severity": "warn", "store_failures": True, "where": UNTESTED_LOADS},
                            }
                        }
                    ]
            columns.append(col)
    return {
        "name": f"stg_knack__{obj.table}",
        "description": f"Knack object {obj.name} ({obj.key}), one row per record, typed from the app metadata.",
        "meta": {"object_key": obj.key},
        "columns": columns,
    }


def freshness(warn_hours: float, error_hours: float) -> dict[str, Any]:
    """dbt's freshness thresholds, in whole minutes (dbt counts are integers; 0 means any age is late)."""
    def after(hours: float) -> dict[str, Any]:
        return {"count": max(0, int(hours * 60)), "period": "minute"}

    return {"warn_after": after(min(warn_hours, error_hours)), "error_after": after(error_hours)}


def last_load_query(object_key: str) -> str:
    """When ingest last loaded the object successfully (audit.object_loads; never: the epoch, so it is late)."""
    return ("select coalesce(max(finished_at), timestamptz 'epoch') from audit.object_loads"
            f" where object_key = '{object_key}' and status = 'ok' and not dry_run")


LAST_RUN_QUERY = ("select coalesce(max(finished_at), timestamptz 'epoch') from audit.runs"
                  " where status = 'success' and not dry_run")


def render_project(objects: list[KnackObject], email_fields: dict[str, list[str]],
                   future_tolerance_minutes: int = DEFAULT_FUTURE_TOLERANCE_MINUTES,
                   freshness_hours: tuple[float, float] = (26.0, 36.0)) -> dict[str, str]:
    """File name -> text for the generated staging folder."""
    for obj in objects:
        marked = set(email_fields.get(obj.key, []))
        for f in obj.fields:
            f.as_email = f.key in marked and f.type != "email"
    by_key = {o.key: o for o in objects}
    files = {f"stg_knack__{o.table}.sql": model_sql(o) for o in objects}
    files["stg_knack__parse_problems.sql"] = problems_sql(objects, future_tolerance_minutes)
    models = [model_yaml(o, by_key) for o in objects]
    models.append(
        {
            "name": "stg_knack__parse_problems",
            "description": "Values in raw_knack that could not be typed: NULL in staging, listed here.",
            "columns": [
                {"name": n}
                for n in ("object_key", "table_name", "knack_id", "field_key", "field_name", "raw_value", "reason")
            ],
        }
    )
    # `dbt source freshness` (the flow's first step): each object's last successful load, and the last
    # successful run (marts published), against the warn/error hours of the settings
    thresholds = freshness(*freshness_hours)
    sources = {
        "name": "raw_knack",
        "schema": "raw_knack",
        "config": {"freshness": thresholds},
        "tables": [
            {
                "name": o.table,
                "description": f"Knack object {o.name} ({o.key}) as loaded by ingest",
                "meta": {"object_key": o.key},
                "config": {"loaded_at_query": last_load_query(o.key)},
            }
            for o in objects
        ],
    }
    runs = {
        "name": "knackhouse_runs",
        "schema": "audit",
        "description": "knackhouse's own record of its runs",
        "config": {"freshness": thresholds},
        "tables": [{"name": "runs", "description": "one row per daily-sync run; fresh = marts published lately",
                    "config": {"loaded_at_query": LAST_RUN_QUERY}}],
    }
    files["_knack__models.yml"] = yaml.safe_dump({"version": 2, "models": models}, sort_keys=False, allow_unicode=True)
    files["_knack__sources.yml"] = yaml.safe_dump(
        {"version": 2, "sources": [sources, runs]}, sort_keys=False, allow_unicode=True
    )
    return files


def staging_var(objects: list[KnackObject]) -> dict[str, Any]:
    """The `knack_staging` dbt var read by the knack_column macro."""
    return {o.key: {"table": o.table, "fields": {f.key: f.slug for f in o.fields}} for o in objects}
