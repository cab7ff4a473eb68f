"""A synthetic Knack app (metadata + records) for staging tests and benchmarks; any size, any keys."""

from __future__ import annotations

import random
from typing import Any

TYPES = ("short_text", "email", "name", "date_time", "number", "boolean", "multiple_choice", "phone", "connection")


def synthetic_metadata(
    objects: int, fields_per_object: int, date_format: str = "dd/mm/yyyy", zone: str = "London"
) -> dict[str, Any]:
    """`objects` objects of `fields_per_object` fields cycling through the common Knack types."""
    app_objects = []
    for o in range(1, objects + 1):
        fields = []
        for i in range(fields_per_object):
            ftype = TYPES[i % len(TYPES)]
            key = f"field_{o * 1000 + i}"
            f: dict[str, Any] = {"key": key, "name": f"{ftype.replace('_', ' ').title()} {i}", "type": ftype}
            if ftype == "date_time":
                f["format"] = {"date_format": date_format, "time_format": "HH:MM am"}
            if ftype == "multiple_choice":
                f["format"] = {"type": "multi" if i % 2 else "single", "options": ["A", "B"]}
            if ftype == "connection":
                f["relationship"] = {"object": f"object_{(o % objects) + 1}", "has": "many", "belongs_to": "many"}
            fields.append(f)
        app_objects.append({"key": f"object_{o}", "name": f"Thing {o}", "fields": fields})
    return {
        "application": {
            "id": "synthetic",
            "name": "Synthetic",
            "slug": "synthetic",
            "settings": {"timezone": zone},
            "objects": app_objects,
        }
    }


def synthetic_records(obj: dict[str, Any], count: int, seed: int = 1) -> list[dict[str, Any]]:
    """Records with realistic raw values (HTML emails, dd/mm/yyyy wall-clock dates)."""
    rng = random.Random(seed)
    records = []
    for n in range(count):
        record: dict[str, Any] = {"id": f"{0x5D000000 + n:08x}{rng.getrandbits(64):016x}"}
        for f in obj["fields"]:
            key, ftype = f["key"] + "_raw", f["type"]
            day, month, hour = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1, 12)
            if ftype == "email":
                record[key] = {"email": f'<a href="mailto:User{n}@Example.org">User{n}@Example.org</a> '}
            elif ftype == "date_time":
                record[key] = {
                    "date": f"{day:02d}/{month:02d}/2024",
                    "hours": f"{hour:02d}",
                    "minutes": "30",
                    "am_pm": "PM",
                    "iso_timestamp": f"2024-{month:02d}-{day:02d}T{hour + 12:02d}:30:00.000Z",
                }
            elif ftype == "name":
                record[key] = {"first": "Ann", "last": f"Lee {n}"}
            elif ftype == "number":
                record[key] = n
            elif ftype == "boolean":
                record[key] = bool(n % 2)
            elif ftype == "multiple_choice":
                record[key] = ["A", "B"] if f["format"]["type"] == "multi" else "A"
            elif ftype == "phone":
                record[key] = {"full": "01234567890", "formatted": "01234 567890"}
            elif ftype == "connection":
                record[key] = []
            else:
                record[key] = f"text {n}"
        records.append(record)
    return records
