"""Values PostgreSQL cannot store, made safe before a record reaches raw_knack.

PostgreSQL's text and jsonb cannot hold the NUL character (U+0000): one such character in one
record made the whole load package fail, and so every later run that retried it. A Knack text
value can hold it (pasted from another program, imported from a file), so ingest removes it and
says where it was: the record gets a `_knackhouse` key (Knack never sends a key starting with an
underscore) listing the fields it was removed from, and staging lists each of them in
`stg_knack__parse_problems`.
"""

from __future__ import annotations

from typing import Any

import orjson

NUL = "\x00"
NUL_ESCAPED = b"\\u0000"   # how orjson writes a NUL inside a JSON string
MARKER = "_knackhouse"     # top-level key of the notes ingest adds to a record
NUL_REMOVED = "nul_removed"


def record_json(record: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(the record as stored, its JSON text): NUL characters removed and noted under `MARKER`.

    One serialisation per record; only a record whose JSON holds an escaped NUL is walked.
    """
    dumped = orjson.dumps(record)
    if NUL_ESCAPED not in dumped:
        return record, dumped.decode()
    cleaned: dict[str, Any] = {}
    fields: list[str] = []
    for key, value in record.items():
        safe = _strip(value)
        clean_key = key.replace(NUL, "")
        if safe != value or clean_key != key:
            field = clean_key.removesuffix("_raw")
            if field not in fields:
                fields.append(field)
        cleaned[clean_key] = safe
    if not fields:  # the text held a literal backslash-u0000, not a NUL
        return record, dumped.decode()
    cleaned[MARKER] = {NUL_REMOVED: fields}
    return cleaned, orjson.dumps(cleaned).decode()


def _strip(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(NUL, "") if NUL in value else value
    if isinstance(value, dict):
        return {k.replace(NUL, ""): _strip(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


__all__ = ["MARKER", "NUL_REMOVED", "record_json"]
