"""Records of one Knack object, kept compact (one typed tuple per record) and rendered per request.

A `Table` answers the records endpoint: it filters and sorts typed values (the result is cached
until the table next changes) and renders each record into Knack's JSON shape, caching the bytes
of a record until it changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simulator.knack_values import (
    connection_values,
    date_time_json,
    date_time_values,
    email_values,
    name_text,
    parse_filter_date,
    strip_html,
)

NUMERIC_TYPES = frozenset({"number", "rating", "auto_increment", "currency", "sum", "average", "count",
                           "min", "max", "equation"})
TEXT_TYPES = frozenset({"short_text", "paragraph_text", "rich_text", "multiple_choice", "concatenation"})
RENDER_CACHE_LIMIT = 300_000


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_text: Callable[[str], str] = json.encoder.encode_basestring  # type: ignore[attr-defined]


class FilterError(ValueError):
    """A `filters` parameter Knack would refuse (not JSON, or an unknown operator)."""


@dataclass(frozen=True)
class Field:
    """One field of an object, as its metadata describes it."""

    key: str
    name: str
    type: str
    format: dict[str, Any] | None = None
    relationship: dict[str, Any] | None = None
    required: bool = False
    unique: bool = False

    @property
    def date_format(self) -> str:
        return (self.format or {}).get("date_format", "mm/dd/yyyy")

    @property
    def time_format(self) -> str:
        return (self.format or {}).get("time_format", "HH:MM am")

    def metadata(self, object_key: str) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "required": self.required, "unique": self.unique,
                                "user": False, "conditional": False, "rules": None, "validation": None,
                                "key": self.key, "object_key": object_key, "name": self.name}
        if self.format is not None:
            body["format"] = self.format
        if self.relationship is not None:
            body["relationship"] = self.relationship
        return body


Resolver = Callable[[str, str], str]


@dataclass
class Table:
    """One Knack object: its fields and its records as typed tuples (values aligned with `fields`).

    Typed values: text types and email → str; name → dict of parts; connection → tuple of record ids;
    date_time → naive wall-clock datetime (minute precision) in the app's zone; numbers → int/float;
    boolean → bool; None (or an empty tuple for a connection) when the field is empty.
    """

    key: str
    name: str
    fields: list[Field]
    identifier: str | None = None
    rows: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    resolver: Resolver | None = None
    version: int = 0
    clock: Callable[[], datetime] | None = None
    extra_metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {f.key: i for i, f in enumerate(self.fields)}
        self._rendered: dict[str, bytes] = {}
        self._fragments: list[Callable[[Any], str]] | None = None
        self._queries: dict[tuple[str, str | None, str], tuple[int, list[str]]] = {}

    # ---- changes ----
    def insert(self, record_id: str, values: tuple[Any, ...]) -> None:
        self.rows[record_id] = values
        self._changed(record_id)

    def update(self, record_id: str, values: tuple[Any, ...]) -> None:
        self.rows[record_id] = values
        self._changed(record_id)

    def clone(self, source_id: str, record_id: str, values: tuple[Any, ...]) -> None:
        """A new record copied from `source_id` with `values` (a copy made while a client scans)."""
        self.insert(record_id, values)

    def delete(self, record_id: str) -> None:
        del self.rows[record_id]
        self._changed(record_id)

    def _changed(self, record_id: str) -> None:
        self.version += 1
        self._rendered.pop(record_id, None)

    def value(self, record_id: str, field_key: str) -> Any:
        return self.rows[record_id][self.index[field_key]]

    # ---- metadata ----
    def metadata(self) -> dict[str, Any]:
        body: dict[str, Any] = {"key": self.key, "name": self.name, "identifier": self.identifier,
                                "inflections": {"singular": self.name, "plural": self.name},
                                "type": "StandardObject", "user": False, "status": "current",
                                "fields": [f.metadata(self.key) for f in self.fields]}
        body.update(self.extra_metadata)
        return body

    def identifier_text(self, record_id: str) -> str:
        """The display text of a record's identifier field (what a connection to it shows)."""
        if self.identifier is None or record_id not in self.rows:
            return ""
        spec = self.fields[self.index[self.identifier]]
        return self.text(spec, self.rows[record_id][self.index[self.identifier]])

    # ---- rendering ----
    def render(self, record_id: str) -> bytes:
        """The record's JSON as Knack sends it (bytes kept until the record or a record it links to changes)."""
        cached = self._rendered.get(record_id)
        if cached is None:
            cached = self.render_text(record_id).encode()
            if len(self._rendered) >= RENDER_CACHE_LIMIT:
                self._rendered.clear()
            self._rendered[record_id] = cached
        return cached

    def render_text(self, record_id: str) -> str:
        """Knack's JSON for one record, written from per-field fragments (same content as `record_json`)."""
        if self._fragments is None:
            self._fragments = [self._fragmenter(spec) for spec in self.fields]
        parts = [fragment(value) for fragment, value in zip(self._fragments, self.rows[record_id], strict=True)]
        return f'{{"id":"{record_id}"{"".join(parts)}}}'

    def forget_rendered(self) -> None:
        """Drop rendered records (a record they link to changed its identifier or went away)."""
        self._rendered.clear()
        self._fragments = None

    def _fragmenter(self, spec: Field) -> Callable[[Any], str]:
        key = spec.key
        empty = f',"{key}":""'

        def pair(formatted: Any, raw: Any) -> str:
            return f',"{key}":{_dumps(formatted)},"{key}_raw":{_dumps(raw)}'

        if spec.type == "date_time":
            date_format, time_format = spec.date_format, spec.time_format

            def date_time(value: Any) -> str:
                if value is None or value == "":
                    return empty
                formatted, raw = date_time_json(value, date_format, time_format)
                return f',"{key}":{formatted},"{key}_raw":{raw}'

            return date_time
        if spec.type == "name":
            name_format = (spec.format or {}).get("format", "First Last")

            names: dict[tuple[tuple[str, str], ...], str] = {}

            def name(value: Any) -> str:
                if not value:
                    return empty
                parts = tuple(value.items())
                hit = names.get(parts)
                if hit is None:
                    raw = ",".join(f"{_text(part)}:{_text(text)}" for part, text in parts)
                    hit = f',"{key}":{_text(name_text(value, name_format))},"{key}_raw":{{{raw}}}'
                    if len(names) > 100_000:
                        names.clear()
                    names[parts] = hit
                return hit

            return name
        if spec.type == "connection":
            cache: dict[Any, str] = {}

            def connection(value: Any) -> str:
                if not value:
                    return f',"{key}":"","{key}_raw":[]'
                hit = cache.get(value)
                if hit is None:
                    formatted, raw, _ = self._render_value(spec, value)
                    hit = pair(formatted, raw)
                    if len(cache) > 100_000:
                        cache.clear()
                    cache[value] = hit
                return hit

            return connection
        if spec.type == "email":

            def email(value: Any) -> str:
                if not value:
                    return empty
                address = _text(value)
                shown = _text(f'<a href="mailto:{value}">{value}</a>')
                return f',"{key}":{shown},"{key}_raw":{{"email":{address}}}'

            return email
        if spec.type == "boolean":
            yes, no = pair("Yes", True), pair("No", False)
            return lambda value: empty if value is None else (yes if value else no)

        def plain(value: Any) -> str:
            if value is None or value == "":
                return empty
            text = _text(value) if type(value) is str else (str(value) if type(value) is int else _dumps(value))
            return f',"{key}":{text},"{key}_raw":{text}'

        return plain

    def record_json(self, record_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {"id": record_id}
        for spec, value in zip(self.fields, self.rows[record_id], strict=True):
            formatted, raw, has_raw = self._render_value(spec, value)
            body[spec.key] = formatted
            if has_raw:
                body[f"{spec.key}_raw"] = raw
        return body

    def _render_value(self, spec: Field, value: Any) -> tuple[Any, Any, bool]:
        kind = spec.type
        if kind == "connection":
            if not value:
                return "", [], True
            target = (spec.relationship or {}).get("object", "")
            resolve = self.resolver
            formatted, raw = connection_values([(rid, resolve(target, rid) if resolve else "") for rid in value])
            return formatted, raw, True
        if value is None or value == "":
            return "", None, False
        if kind == "date_time":
            formatted, raw = date_time_values(value, spec.date_format, spec.time_format)
            return formatted, raw, True
        if kind == "email":
            formatted, raw = email_values(value)
            return formatted, raw, True
        if kind == "name":
            return name_text(value, (spec.format or {}).get("format", "First Last")), value, True
        if kind == "boolean":
            return ("Yes" if value else "No"), value, True
        return value, value, True

    # ---- reading: filters and sort ----
    def text(self, spec: Field, value: Any) -> str:
        """The text a filter such as `contains` compares against."""
        if value is None:
            return ""
        if spec.type == "connection":
            target = (spec.relationship or {}).get("object", "")
            return " ".join(self.resolver(target, rid) if self.resolver else rid for rid in value)
        if spec.type == "name":
            return name_text(value, (spec.format or {}).get("format", "First Last"))
        if spec.type == "boolean":
            return "Yes" if value else "No"
        if isinstance(value, datetime):
            return date_time_values(value, spec.date_format, spec.time_format)[0]
        return strip_html(str(value)) if spec.type in TEXT_TYPES else str(value)

    def query(self, filters: Any, sort_field: str | None, sort_order: str) -> list[str]:
        """Ids of the records matching `filters`, in the asked order (cached until the table changes)."""
        cache_key = (json.dumps(filters, sort_keys=True, default=str), sort_field, sort_order)
        cached = self._queries.get(cache_key)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        predicate = self._predicate(filters)
        rows = self.rows
        ids = sorted(rows) if predicate is None else sorted(rid for rid, row in rows.items() if predicate(row))
        if sort_field in self.index:
            spec = self.fields[self.index[sort_field]]
            position = self.index[sort_field]
            key = self._sort_key(spec)
            ids.sort(key=lambda rid: key(rows[rid][position]), reverse=sort_order == "desc")
        if len(self._queries) > 64:
            self._queries.clear()
        self._queries[cache_key] = (self.version, ids)
        return ids

    def _sort_key(self, spec: Field) -> Callable[[Any], tuple[int, Any]]:
        if spec.type == "date_time" or spec.type in NUMERIC_TYPES or spec.type == "boolean":
            return lambda v: (0, 0) if v is None or v == "" else (1, v)
        return lambda v: (0, "") if v is None or v == () else (1, self.text(spec, v).lower())

    def _predicate(self, filters: Any) -> Callable[[tuple[Any, ...]], bool] | None:
        if filters in (None, "", [], {}):
            return None
        if isinstance(filters, list):
            match, rules = "and", filters
        elif isinstance(filters, dict):
            match, rules = str(filters.get("match", "and")).lower(), filters.get("rules") or []
        else:
            raise FilterError("filters must be an object with match and rules, or a list of rules")
        tests = [t for t in (self._rule(r) for r in rules) if t is not None]
        if not tests:
            return None
        if match == "or":
            return lambda row: any(t(row) for t in tests)
        return lambda row: all(t(row) for t in tests)

    def _rule(self, rule: Any) -> Callable[[tuple[Any, ...]], bool] | None:
        if not isinstance(rule, dict):
            raise FilterError("each filter rule must be an object with field, operator and value")
        key = rule.get("field")
        if key not in self.index:
            return None  # Knack ignores a rule on an unknown field (e.g. a label instead of a key)
        spec, position = self.fields[self.index[key]], self.index[key]
        operator = str(rule.get("operator", "")).strip().lower()
        value = rule.get("value")
        return rule_test(self, spec, position, operator, value)


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == () or value == []


def rule_test(table: Table, spec: Field, position: int, operator: str,
              value: Any) -> Callable[[tuple[Any, ...]], bool] | None:
    """A predicate over a typed row for one filter rule; None to ignore the rule."""
    if operator == "is blank":
        return lambda row: _blank(row[position])
    if operator == "is not blank":
        return lambda row: not _blank(row[position])
    if operator == "is any":
        return lambda row: True
    if spec.type == "date_time":
        return _date_test(table, spec, position, operator, value)
    if spec.type in NUMERIC_TYPES and operator in ("is", "is not", "higher than", "lower than"):
        try:
            number = float(str(value).replace(",", "").lstrip("$£"))
        except ValueError:
            return None
        compare = {"is": lambda x: x == number, "is not": lambda x: x != number,
                   "higher than": lambda x: x > number, "lower than": lambda x: x < number}[operator]
        if operator == "is not":
            return lambda row: row[position] is None or compare(float(row[position]))
        return lambda row: row[position] is not None and compare(float(row[position]))
    if spec.type == "boolean" and operator in ("is", "is not"):
        wanted = str(value).strip().lower() in ("true", "yes", "1")
        if operator == "is":
            return lambda row: row[position] is not None and bool(row[position]) == wanted
        return lambda row: row[position] is None or bool(row[position]) != wanted
    if spec.type == "connection" and operator in ("is", "is not", "contains", "does not contain"):
        wanted_ids = set(value if isinstance(value, list) else [value])
        wanted_text = " ".join(str(v) for v in wanted_ids).lower()

        def linked(row: tuple[Any, ...]) -> bool:
            ids = row[position] or ()
            if wanted_ids & set(ids):
                return True
            shown = table.text(spec, ids).lower()
            return wanted_text == shown if operator in ("is", "is not") else wanted_text in shown

        return linked if operator in ("is", "contains") else (lambda row: not linked(row))
    needle = str(value if value is not None else "").strip().lower()
    text_ops: dict[str, Callable[[str], bool]] = {
        "is": lambda t: t == needle,
        "is not": lambda t: t != needle,
        "contains": lambda t: needle in t,
        "does not contain": lambda t: needle not in t,
        "starts with": lambda t: t.startswith(needle),
        "ends with": lambda t: t.endswith(needle),
    }
    if operator in ("higher than", "lower than"):
        return None
    if operator not in text_ops:
        raise FilterError(f"unknown filter operator {operator!r}")
    compare_text = text_ops[operator]
    return lambda row: compare_text(table.text(spec, row[position]).strip().lower())


def _date_test(table: Table, spec: Field, position: int, operator: str,
               value: Any) -> Callable[[tuple[Any, ...]], bool] | None:
    today = table_today(table)
    if operator in ("is today", "is before today", "is after today", "is today or before", "is today or after"):
        checks: dict[str, Callable[[Any], bool]] = {
            "is today": lambda d: d == today, "is before today": lambda d: d < today,
            "is after today": lambda d: d > today, "is today or before": lambda d: d <= today,
            "is today or after": lambda d: d >= today}
        check = checks[operator]
        return lambda row: row[position] is not None and check(row[position].date())
    if operator not in ("is", "is not", "is before", "is after", "higher than", "lower than"):
        if operator.startswith("is during") or operator.startswith("is before the") or \
                operator.startswith("is after the"):
            return None
        raise FilterError(f"unknown filter operator {operator!r} for a date field")
    parsed = parse_filter_date(str(value.get("date", "")) if isinstance(value, dict) else str(value),
                               spec.date_format)
    if parsed is None:
        return None
    moment, has_time = parsed
    by_minute = has_time and spec.time_format != "Ignore Time"
    pivot: Any = moment if by_minute else moment.date()
    op = {"higher than": "is after", "lower than": "is before"}.get(operator, operator)
    compare: dict[str, Callable[[Any], bool]] = {
        "is": lambda x: x == pivot, "is not": lambda x: x != pivot,
        "is before": lambda x: x < pivot, "is after": lambda x: x > pivot}
    test = compare[op]
    if op == "is not":
        return lambda row: row[position] is None or test(row[position] if by_minute else row[position].date())
    if by_minute:
        return lambda row: row[position] is not None and test(row[position])
    return lambda row: row[position] is not None and test(row[position].date())


def table_today(table: Table) -> Any:
    """The app's current date (its simulated clock), for `is today`."""
    return (table.clock() if table.clock else datetime.now()).date()
