"""Reading one Knack object: what to ask for (incremental, full or reconcile scan), its pages in order,
the rows for raw_knack, and whether a scan was provably complete.

Order is what makes a scan checkable. Knack pages by page number, so a record inserted, deleted or
modified while a scan runs moves the page boundaries. Every scan therefore reads in an order where a
change lands among the pages already read: newest "Date Modified" first, or (without a modified field,
full and reconcile scans) the last page first. A skipped record then shows up as a record read twice, a
moved `total_records` or pages holding fewer records than page 1's total. That argument holds only while
each change sorts before every unread page, so a scan sorted by "Date Modified" is proven complete only
when no record on a later page is as new as the newest of page 1 (ties in the modified minute across a
page boundary, or a change read in an unread page, leave it unproven). An unproven scan keeps the
object's cursor where it was, and a reconcile retires only what it proves gone: every record when the
scan is proven, otherwise each one Knack answers 404 for (`GET /records/{id}`).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa

from ingest import raw
from ingest.client import KnackClient, Page
from ingest.dates import created_at, filter_support, filter_value, true_instant
from ingest.metadata import KnackField, KnackObject
from ingest.settings import CONFIRM_BY_ID_LIMIT, OVERLAP, PREFETCH_PAGES, ROWS_PER_PAGE
from ingest.values import record_json
from knackhouse.errors import KnackApiError
from knackhouse.warehouse import connect

log = logging.getLogger(__name__)

Mode = Literal["incremental", "full", "reconcile"]
TIMESTAMP = pa.timestamp("us", tz="UTC")
ARROW_SCHEMA = pa.schema([
    pa.field("id", pa.string(), nullable=False),
    pa.field("record", pa.string(), nullable=False),
    pa.field("_knack_created_at", TIMESTAMP),
    pa.field("_knack_modified_at", TIMESTAMP),
    pa.field("_first_seen_at", TIMESTAMP, nullable=False),
    pa.field("_last_seen_at", TIMESTAMP, nullable=False),
    pa.field("_deleted_at", TIMESTAMP),
    pa.field("_dlt_id", pa.string(), nullable=False),
])
RETIRE_CHUNK = 5000


class ScanCancelled(Exception):
    """Another object's scan failed: this one stops at its next page."""


@dataclass(frozen=True)
class ScanPlan:
    """How one object is read this run."""

    object_key: str
    object_name: str
    table_name: str
    modified: KnackField | None
    mode: Mode
    cursor_before: datetime | None
    after: datetime | None
    filter_value: str | None
    note: str | None

    @property
    def sort_field(self) -> str | None:
        return self.modified.key if self.modified is not None else None

    @property
    def sort_order(self) -> str:
        return "desc"

    @property
    def filters(self) -> str | None:
        if self.filter_value is None or self.modified is None:
            return None
        rule = {"field": self.modified.key, "operator": "is after", "value": self.filter_value}
        return orjson.dumps({"match": "and", "rules": [rule]}).decode()

    @property
    def backwards(self) -> bool:
        return self.sort_field is None and self.mode != "incremental"

    @property
    def full_scan(self) -> bool:
        return self.mode != "incremental"


def make_plan(obj: KnackObject, table_name: str, modified_key: str | None, cursor: datetime | None, *,
              zone: ZoneInfo, reconcile: bool, full_refresh: bool) -> ScanPlan:
    """Incremental when the object has a usable modified field and a cursor; else a full scan, saying why."""
    modified = obj.field(modified_key) if modified_key else None
    unusable = filter_support(modified)
    if modified_key and modified is None:
        unusable = f"modified field {modified_key} is not in the app's metadata (removed or renamed?)"
    usable = modified if unusable is None else None
    common = dict(object_key=obj.key, object_name=obj.name, table_name=table_name, modified=usable,
                  cursor_before=cursor if usable else None)
    if reconcile:
        return ScanPlan(mode="reconcile", after=None, filter_value=None, note=unusable, **common)
    if usable is None:
        return ScanPlan(mode="full", after=None, filter_value=None, note=f"full scan: {unusable}", **common)
    if full_refresh or cursor is None:
        why = "full refresh" if full_refresh else "first load"
        return ScanPlan(mode="full", after=None, filter_value=None, note=f"full scan: {why}", **common)
    after = cursor - OVERLAP
    return ScanPlan(mode="incremental", after=after, filter_value=filter_value(after, usable, zone), note=None,
                    **common)


@dataclass
class Chunk:
    """Rows of one object on their way to raw_knack (None in a dry run), or the end of its scan."""

    object_key: str
    table: pa.Table | None
    records: int
    final: bool = False
    cursor: datetime | None = None
    complete: bool = False


@dataclass
class ScanStats:
    """What one object's scan did; read by the progress display while it runs."""

    object_key: str
    table_name: str
    pages: int = 0
    expected_pages: int = 0
    records_fetched: int = 0
    distinct: int = 0
    duplicates: int = 0
    without_id: int = 0
    inserted: int = 0
    updated: int = 0
    unretired: int = 0
    retired: int = 0
    found_by_id: int = 0
    reread: int = 0
    not_older: int = 0
    totals: list[int] = field(default_factory=list)
    total_end: int | None = None
    max_modified: datetime | None = None
    cursor_after: datetime | None = None
    reconcile_status: str | None = None
    anomaly: str | None = None
    future_modified: int = 0           # records whose modified time was past the run's limit
    future_example: str | None = None  # one of them (id and time), for the note
    started: float = 0.0
    finished: float = 0.0
    done: bool = False

    @property
    def total_records(self) -> int | None:
        return self.totals[0] if self.totals else None

    @property
    def future_note(self) -> str | None:
        if not self.future_modified:
            return None
        return (f"{self.future_modified} records have a modified time in the future (e.g. {self.future_example}):"
                " loaded, listed as parse problems, and not used for the cursor")


class ObjectScan:
    """Reads one object page by page and hands its rows to `sink`, one chunk per page."""

    def __init__(self, plan: ScanPlan, client: KnackClient, database_url: str, zone: ZoneInfo, run_at: datetime,
                 sink: Callable[[Chunk], None], stop: threading.Event, fetch_pool: ThreadPoolExecutor,
                 *, dry_run: bool = False, modified_limit: datetime | None = None) -> None:
        self.plan = plan
        self.client = client
        self.database_url = database_url
        self.zone = zone
        self.run_at = run_at
        self.sink = sink
        self.stop = stop
        self.fetch_pool = fetch_pool
        self.dry_run = dry_run
        # a modified time past this (the run's start plus the settings' tolerance) is not believed: it
        # is stored, but never moves the cursor, or one bad value would hide every later change
        self.modified_limit = modified_limit
        self.stats = ScanStats(plan.object_key, plan.table_name)
        self.seen: set[str] = set()
        self.first_page_newest: datetime | None = None
        self._read: list[tuple[int, bytes]] = []  # (page number, digest of its ids in order) as first read
        self._modified_raw = f"{plan.modified.key}_raw" if plan.modified is not None else None

    # ---- the scan ----
    def run(self) -> ScanStats:
        import time

        self.stats.started = time.monotonic()
        connection = connect(self.database_url, autocommit=True)
        try:
            self._lookups = raw.has_rows(connection, self.plan.table_name)
            self._connection = connection
            for page in self._pages():
                self._take(page)
            self._finish()
        finally:
            connection.close()
            self.stats.finished = time.monotonic()
        return self.stats

    def _fetch(self, number: int, rows_per_page: int = ROWS_PER_PAGE) -> Page:
        if self.stop.is_set():
            raise ScanCancelled(self.plan.object_key)
        plan = self.plan
        return self.client.page(plan.object_key, number, rows_per_page=rows_per_page, sort_field=plan.sort_field,
                                sort_order=plan.sort_order, filters=plan.filters)

    def _pages(self) -> Iterator[Page]:
        stats = self.stats
        if self.plan.backwards:
            probe = self._fetch(1, rows_per_page=1)
            stats.totals.append(probe.total_records)
            last = math.ceil(probe.total_records / ROWS_PER_PAGE)
            stats.expected_pages = last
            self.client.budget.ensure(last + 1, f"reading object {self.plan.object_key} from its last page",
                                      object_key=self.plan.object_key)
            for number in range(last, 0, -1):
                page = self._fetch(number)
                stats.totals.append(page.total_records)
                yield page
            return
        first = self._fetch(1)
        stats.totals.append(first.total_records)
        last = first.total_pages
        stats.expected_pages = last
        extra = 1 if self.plan.mode == "reconcile" else 0
        self.client.budget.ensure(max(last - 1, 0) + extra, f"reading object {self.plan.object_key}",
                                  object_key=self.plan.object_key)
        yield first
        if not first.records:
            return
        cap = last * 2 + 10
        window = 1 if self.plan.mode == "reconcile" else PREFETCH_PAGES
        in_flight: deque[tuple[int, Future[Page]]] = deque()
        next_number = 2
        try:
            while True:
                while len(in_flight) < window and next_number <= min(last, cap):
                    in_flight.append((next_number, self.fetch_pool.submit(self._fetch, next_number)))
                    next_number += 1
                if not in_flight:
                    return
                _, future = in_flight.popleft()
                page = future.result()
                stats.totals.append(page.total_records)
                if page.total_pages > last:
                    last = page.total_pages
                    stats.expected_pages = min(last, cap)
                if not page.records:
                    return
                yield page
        finally:
            for _, future in in_flight:
                future.cancel()

    def _take(self, page: Page) -> None:
        stats = self.stats
        stats.pages += 1
        stats.records_fetched += len(page.records)
        modified = self._keep(page.records)
        if self._modified_raw is not None:
            self._check_order(modified, first=stats.pages == 1)
            self._read.append((page.number, _digest(page)))

    def _check_order(self, modified: list[datetime | None], *, first: bool) -> None:
        """Count later-page records as new as page 1's newest: a change (or a tie) the page order cannot place.

        Only records new to the scan count: one read again is a duplicate, already a reason of its own."""
        known = [v for v in modified if v is not None]
        if first:
            self.first_page_newest = max(known) if known else None
            return
        newest = self.first_page_newest
        self.stats.not_older += sum(1 for v in known if newest is None or v >= newest)

    def _keep(self, records: list[Any]) -> list[datetime | None]:
        """Hand the records not yet seen in this scan to the sink as raw rows; returns their modified instants."""
        stats, plan = self.stats, self.plan
        fresh: list[dict[str, Any]] = []
        for record in records:
            record_id = record.get("id") if isinstance(record, dict) else None
            if not isinstance(record_id, str) or not record_id:
                stats.without_id += 1
                continue
            if record_id in self.seen:
                stats.duplicates += 1
                continue
            self.seen.add(record_id)
            fresh.append(record)
        stats.distinct += len(fresh)
        if not fresh:
            return []
        stored = [record_json(r) for r in fresh]
        fresh = [record for record, _ in stored]
        ids = [r["id"] for r in fresh]
        modified = [_modified_at(r.get(self._modified_raw), self.zone) if self._modified_raw else None for r in fresh]
        known = [m for m in modified if m is not None]
        limit = self.modified_limit
        if limit is not None and any(m > limit for m in known):
            future = [(m, r["id"]) for m, r in zip(modified, fresh, strict=True) if m is not None and m > limit]
            stats.future_modified += len(future)
            stats.future_example = stats.future_example or f"{future[0][1]} at {future[0][0].isoformat()}"
            known = [m for m in known if m <= limit]
        if known:
            newest = max(known)
            if stats.max_modified is None or newest > stats.max_modified:
                stats.max_modified = newest
        existing = raw.existing_rows(self._connection, plan.table_name, ids) if self._lookups else {}
        first_seen: list[datetime] = []
        for record in fresh:
            before = existing.get(record["id"])
            if before is None:
                stats.inserted += 1
                first_seen.append(self.run_at)
                continue
            first_seen.append(before[0] or self.run_at)
            if before[1] is not None:
                stats.unretired += 1
            if orjson.loads(before[2]) != record:
                stats.updated += 1
        if self.dry_run:
            self.sink(Chunk(plan.object_key, None, len(fresh)))
            return modified
        id_array = pa.array(ids, pa.string())
        table = pa.Table.from_arrays([
            id_array,
            pa.array([text for _, text in stored], pa.string()),
            pa.array([created_at(i) for i in ids], TIMESTAMP),
            pa.array(modified, TIMESTAMP),
            pa.array(first_seen, TIMESTAMP),
            pa.array([self.run_at] * len(ids), TIMESTAMP),
            pa.nulls(len(ids), TIMESTAMP),
            id_array,  # _dlt_id: the Knack id is already unique in its table
        ], schema=ARROW_SCHEMA)
        self.sink(Chunk(plan.object_key, table, len(fresh)))
        return modified

    # ---- the end of a scan ----
    def _finish(self) -> None:
        stats, plan = self.stats, self.plan
        problems = self._problems()
        complete = False
        if plan.mode == "reconcile" and not problems:
            check = self._fetch(1, rows_per_page=1)
            stats.total_end = check.total_records
            if check.total_records != stats.total_records:
                problems.append(f"total_records moved from {stats.total_records} to {check.total_records} "
                                "between the start and the end of the scan")
        unproven = None if problems else self._order_unproven()
        if plan.mode == "reconcile":
            if problems:
                stats.reconcile_status = "skipped: " + "; ".join(problems)
            elif unproven is None:
                complete = True
                stats.reconcile_status = "complete"
                self._retire(self._candidates())
            else:
                stats.reconcile_status = self._retire_confirmed(self._candidates(), unproven)
        elif problems or unproven:
            stats.anomaly = "; ".join([*problems, *([unproven] if unproven else [])])
            log.warning("object %s: %s; its cursor stays where it was so the next run reads these again",
                        plan.object_key, stats.anomaly)
        proven = complete if plan.mode == "reconcile" else not (problems or unproven)
        if stats.future_note:
            log.warning("object %s: %s", plan.object_key, stats.future_note)
        if plan.modified is None:
            stats.cursor_after = None
        elif not proven:
            stats.cursor_after = plan.cursor_before
        else:
            candidates = [c for c in (plan.cursor_before, stats.max_modified) if c is not None]
            stats.cursor_after = max(candidates) if candidates else None
        stats.done = True
        self.sink(Chunk(plan.object_key, None, 0, final=True, cursor=stats.cursor_after, complete=complete))

    def _order_unproven(self) -> str | None:
        """Why neither the page order nor a second reading proves the scan complete (None when one does).

        Ties in "Date Modified" across a page boundary leave the order to Knack's tie-break, where a record
        changed during the scan may land among the unread pages and hide one skipped by a deletion. Reading
        the same pages again then decides: every page the same, and no record read was deleted or moved
        during the first reading (either would be missing from its page the second time), so none was skipped.
        """
        if self._modified_raw is None or not self.stats.not_older:
            return None
        ties = (f"{self.stats.not_older} records after page 1 were as new as its newest \"Date Modified\" "
                "(ties across pages, or changes during the scan)")
        differs = self._read_again()
        if differs is None:
            log.info("object %s: %s; a second reading of its %d pages was the same", self.plan.object_key, ties,
                     len(self._read))
            return None
        return f"{ties}, and {differs}"

    def _read_again(self) -> str | None:
        """Read the scan's pages again in the same order; None when every page holds the same ids as before."""
        left = self.client.budget.left
        if left is not None and len(self._read) + 1 > left:
            return f"reading its {len(self._read)} pages again would exceed this run's request budget"
        window = 1 if self.plan.mode == "reconcile" else PREFETCH_PAGES
        in_flight: deque[tuple[int, bytes, Future[Page]]] = deque()
        queue = deque(self._read)
        try:
            while queue or in_flight:
                while queue and len(in_flight) < window:
                    number, digest = queue.popleft()
                    in_flight.append((number, digest, self.fetch_pool.submit(self._fetch, number)))
                number, digest, future = in_flight.popleft()
                page = future.result()
                self.stats.reread += 1
                if page.total_records != self.stats.total_records or _digest(page) != digest:
                    return f"page {number} differed when read again (the pages shifted while they were read)"
        finally:
            for _, _, pending in in_flight:
                pending.cancel()
        return None

    def _problems(self) -> list[str]:
        stats = self.stats
        problems = []
        if stats.without_id:
            problems.append(f"{stats.without_id} records had no id")
        if stats.duplicates:
            problems.append(f"{stats.duplicates} records came twice (the pages shifted while they were read)")
        moved = sorted(set(stats.totals))
        if len(moved) > 1:
            problems.append(f"total_records moved during the scan ({moved[0]} to {moved[-1]})")
        if stats.total_records is not None and stats.distinct + stats.without_id != stats.total_records:
            problems.append(f"Knack reported {stats.total_records} records but its pages held "
                            f"{stats.distinct + stats.without_id}")
        return problems

    def _candidates(self) -> list[str]:
        """Live raw ids this scan did not read: the records Knack may have deleted."""
        if not raw.table_exists(self._connection, self.plan.table_name):
            return []
        return [i for i in raw.live_ids(self._connection, self.plan.table_name) if i not in self.seen]

    def _retire_confirmed(self, candidates: list[str], unproven: str) -> str:
        """Retire the candidates Knack answers 404 for, one request each; load any it still has. Returns the status."""
        plan, stats = self.plan, self.stats
        left = self.client.budget.left
        if len(candidates) > CONFIRM_BY_ID_LIMIT:
            return (f"skipped: {unproven}; {len(candidates)} records to retire, more than the {CONFIRM_BY_ID_LIMIT} "
                    "a run confirms gone one request each")
        if not candidates:
            return f"confirmed by id: no record to retire ({unproven})"
        if left is not None and len(candidates) + 1 > left:
            return (f"skipped: {unproven}; confirming {len(candidates)} records gone needs {len(candidates) + 1} "
                    f"requests, {left} are left of this run's budget")
        if not self._endpoint_answers():
            return (f"skipped: {unproven}; Knack did not return a record this scan had just read, so its 404s "
                    "cannot prove records gone")
        answers = list(self.fetch_pool.map(self._record, candidates))
        gone = [rid for rid, record in zip(candidates, answers, strict=True) if record is None]
        alive = [record for record in answers if record is not None]
        if alive:
            stats.found_by_id = len(alive)
            stats.records_fetched += len(alive)
            self._keep(alive)
            log.warning("object %s: %d records the reconcile scan missed were still in Knack (found by id)",
                        plan.object_key, len(alive))
        self._retire(gone)
        found = f"; {len(alive)} the scan missed are still in Knack and were loaded" if alive else ""
        return (f"confirmed by id: {len(gone)} of {len(candidates)} unread records are gone and retired{found} "
                f"({unproven})")

    def _record(self, record_id: str) -> dict[str, Any] | None:
        if self.stop.is_set():
            raise ScanCancelled(self.plan.object_key)
        return self.client.record(self.plan.object_key, record_id)

    def _endpoint_answers(self) -> bool:
        """A 404 proves a record gone only if the endpoint returns records this scan just read (up to 3 tried)."""
        return any(self._record(record_id) is not None for record_id in itertools.islice(self.seen, 3))

    def _retire(self, missing: list[str]) -> None:
        """Mark rows Knack no longer has (after a complete scan, or each one confirmed gone by id)."""
        plan, stats = self.plan, self.stats
        stats.retired = len(missing)
        if self.dry_run or not missing:
            return
        for batch in raw.chunks(missing, RETIRE_CHUNK):
            rows = list(raw.rows_to_retire(self._connection, plan.table_name, batch))
            if not rows:
                continue
            self.sink(Chunk(plan.object_key, retired_table(rows, self.run_at), 0))


def _digest(page: Page) -> bytes:
    """The ids of a page in the order Knack sent them, hashed (a second reading compares these)."""
    ids = (str(r.get("id")) if isinstance(r, dict) else "" for r in page.records)
    return hashlib.blake2b("\n".join(ids).encode(), digest_size=16).digest()


def _modified_at(raw_value: Any, zone: ZoneInfo) -> datetime | None:
    """A record's modified instant; None when unreadable or beyond what a timestamp holds (year 9999 west of UTC)."""
    try:
        return true_instant(raw_value, zone)
    except (OverflowError, ValueError):
        return None


def retired_table(rows: list[tuple[Any, ...]], run_at: datetime) -> pa.Table:
    """Raw rows (`raw.rows_to_retire`: id, record, created, modified, first seen, last seen) marked deleted now."""
    columns = list(zip(*rows, strict=True))
    id_array = pa.array(columns[0], pa.string())
    return pa.Table.from_arrays([
        id_array,
        pa.array(columns[1], pa.string()),
        pa.array(columns[2], TIMESTAMP),
        pa.array(columns[3], TIMESTAMP),
        pa.array(columns[4], TIMESTAMP),
        pa.array(columns[5], TIMESTAMP),
        pa.array([run_at] * len(rows), TIMESTAMP),
        id_array,
    ], schema=ARROW_SCHEMA)


def empty_table() -> pa.Table:
    """A raw table with no rows: makes dlt create an object's table before it has any record."""
    return ARROW_SCHEMA.empty_table()


def utc_now() -> datetime:
    return datetime.now(UTC)


__all__ = ["Chunk", "KnackApiError", "ObjectScan", "ScanPlan", "ScanStats", "empty_table", "make_plan"]
