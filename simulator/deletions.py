"""Deletions in every pattern a Knack app sees, for the deletion sweep's tests and benchmark.

Generic helpers work on any `KnackApp` object: scattered records, a cluster of records modified
together (what an upload makes, and what a school deleting a year group removes), an emptied object.
`ChangesWhileReading` is a `SimulatorServer.on_records` hook that deletes, edits and creates records
while a client reads, so a sweep can be caught mid-way.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from simulator.app import KnackApp


def by_modified(app: KnackApp, object_key: str) -> list[str]:
    """An object's ids in the order of its modified field (ids without one first), ties by id."""
    table = app.tables[object_key]
    modified = app.modified_fields.get(object_key)
    if modified is None:
        return sorted(table.rows)
    position = table.index[modified]
    return sorted(table.rows, key=lambda rid: (table.rows[rid][position] is not None,
                                               table.rows[rid][position] or 0, rid))


def delete_scattered(app: KnackApp, object_key: str, count: int, rng: random.Random) -> list[str]:
    """Delete `count` records drawn uniformly from the whole object."""
    with app.lock:
        ids = sorted(app.tables[object_key].rows)
        gone = rng.sample(ids, min(count, len(ids)))
        app.delete_many(object_key, gone)
    return gone


def delete_clustered(app: KnackApp, object_key: str, count: int, rng: random.Random) -> list[str]:
    """Delete `count` records adjacent in modified order (records uploaded or edited together)."""
    with app.lock:
        ids = by_modified(app, object_key)
        start = rng.randrange(max(len(ids) - count, 0) + 1)
        gone = ids[start:start + count]
        app.delete_many(object_key, gone)
    return gone


def empty_object(app: KnackApp, object_key: str) -> list[str]:
    """Delete every record of an object."""
    with app.lock:
        gone = sorted(app.tables[object_key].rows)
        app.delete_many(object_key, gone)
    return gone


def delete_year_group(app: Any, rng: random.Random) -> dict[str, list[str]]:
    """The demo app: one school deletes one year group's students and the results of their emails."""
    from simulator.demo_schema import R_EMAIL, RESULTS, S_EMAIL, S_ESTABLISHMENT, S_YEAR_GROUP, STUDENTS

    with app.lock:
        students = app.tables[STUDENTS]
        groups: dict[tuple[Any, Any], list[str]] = {}
        for record_id, row in students.rows.items():
            school = row[S_ESTABLISHMENT][0] if row[S_ESTABLISHMENT] else None
            if school is not None and row[S_YEAR_GROUP]:
                groups.setdefault((school, row[S_YEAR_GROUP]), []).append(record_id)
        key = rng.choice(sorted(groups, key=str))
        gone_students = sorted(groups[key])
        emails = {students.rows[rid][S_EMAIL] for rid in gone_students}
        results = app.tables[RESULTS]
        gone_results = sorted(rid for rid, row in results.rows.items() if row[R_EMAIL] in emails)
        app.delete_many(STUDENTS, gone_students)
        app.delete_many(RESULTS, gone_results)
    return {STUDENTS: gone_students, RESULTS: gone_results}


@dataclass
class ChangesWhileReading:
    """A `SimulatorServer.on_records` hook: from the `after`-th records request of `object_key` whose filters
    contain `match` (any request when None) on, each of the next `times` such requests first deletes, edits
    (modified set to the app's clock, one minute on) and creates (a copy of a record) that many records.
    `deleted`, `edited`, `created` say which."""

    app: KnackApp
    object_key: str
    after: int = 1
    times: int = 1
    deletes: int = 0
    edits: int = 0
    creates: int = 0
    match: str | None = "is before"
    seed: int = 0
    deleted: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    seen: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def __call__(self, object_key: str, query: dict[str, str]) -> None:
        if object_key != self.object_key or (self.match is not None and self.match not in query.get("filters", "")):
            return
        with self._lock:
            self.seen += 1
            if not self.after <= self.seen < self.after + self.times:
                return
            with self.app.lock:
                self._change()

    def _change(self) -> None:
        app, table, rng = self.app, self.app.tables[self.object_key], self._rng
        app.now += timedelta(minutes=1)
        ids = sorted(table.rows)
        gone = rng.sample(ids, min(self.deletes, len(ids)))
        app.delete_many(self.object_key, gone)
        self.deleted += gone
        remaining = sorted(table.rows)
        for record_id in rng.sample(remaining, min(self.edits, len(remaining))):
            app.touch(self.object_key, record_id)
            self.edited.append(record_id)
        modified = app.modified_fields.get(self.object_key)
        for _ in range(self.creates):
            if not remaining:
                break
            row = list(table.rows[rng.choice(remaining)])
            if modified is not None:
                row[table.index[modified]] = app.now.replace(second=0, microsecond=0)
            record_id = app.new_id(app.now)
            table.insert(record_id, tuple(row))
            self.created.append(record_id)
