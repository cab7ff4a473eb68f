"""The daily deletion sweep: find the records Knack deleted for a small fraction of a full scan's requests.

Knack answers a filtered request with `total_records`, so one request with `rows_per_page=1` counts the
records whose modified field lies in a range. After the day's incremental read the warehouse holds every
record Knack had, so per range the count of live raw rows and Knack's count agree unless records were
deleted (or, rarely, the warehouse missed some). The sweep:

1. Sets an upper bound `U`: the minute (the day, for a field that ignores the time) of the incremental
   read's cursor. Below `U` nothing changes any more except by deletion, or by an edit that moves a record
   to now, above `U`. Records at or above `U` wait for tomorrow's sweep.
2. Counts Knack's records below `U`, and those with a blank modified field (2 requests on a quiet day), and
   compares them with raw's live rows (a histogram of raw's live rows per minute of the app's wall clock,
   read once, gives every warehouse count).
3. Bisects a range whose counts differ, at a minute where the warehouse holds no record when there is
   one near the median (so Knack's minute granularity at a boundary can't move a known record across it),
   counting only the left half (the right half's count is the parent's minus the left's), until a
   range holds at most one page; then reads it whole and compares ids.
4. Confirms the ids raw has and the read did not: each with `GET /records/{id}` while they are few (404 →
   retired, an answer → moved, upserted); when there are many, by one read of the range at or above `U`
   after every range was read: a record that still exists but left its range was edited, so its modified
   field is now at or above `U` and that read holds it; the others are retired. This is the same premise
   incremental reading rests on: the modified field is set to the wall clock at every edit. A range read
   that saw its total move or a record twice proves nothing, and its ids are retired only by id.
5. Falls back to reading the whole object (a reconcile scan's requests; what it lacks is deleted, no premise)
   when bisecting would cost more: an object of at most `WHOLE_READ_PAGES` pages, deletions scattered across
   the object (two levels of bisection saved less than they cost), or an object without a usable modified
   field (one count first). Splitting stops after a quarter of a full scan's requests at most.

Nothing is written until the sweep has finished: a sweep killed half-way retires nothing.
"""

from __future__ import annotations

import bisect
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa
from psycopg2 import sql

from ingest import raw
from ingest.client import KnackClient
from ingest.dates import DATE_FORMATS, created_at, true_instant
from ingest.scan import ARROW_SCHEMA, RETIRE_CHUNK, TIMESTAMP, ScanPlan, ScanStats, retired_table
from ingest.settings import DATASET_NAME, ROWS_PER_PAGE

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1)
WHOLE_READ_PAGES = 4       # an object of at most this many pages is read whole: counting and bisecting cost as much
CONFIRM_BY_ID_MAX = 3      # missing ids confirmed one `GET /records/{id}` each up to this many (else one read)
MAX_RANGE_PAGES = 1_000_000  # bound before the first page says how many there are (then twice that, plus 10)

Sink = Callable[[pa.Table], None]


@dataclass
class SweepStats:
    """What one object's sweep did (reported per object in the run report and `audit.object_loads`)."""

    object_key: str
    status: str = "not run"
    method: str = "none"          # none | counts | bisect | whole
    requests: int = 0
    counts: int = 0
    pages: int = 0
    ranges_read: int = 0
    candidates: int = 0
    confirmed_by_id: int = 0
    retired: int = 0
    moved: int = 0
    added: int = 0
    unconfirmed: int = 0
    seconds: float = 0.0
    retired_ids: list[str] = field(default_factory=list, repr=False)


@dataclass
class _Range:
    """Buckets [lo, hi) of the app's wall clock (minutes or days since 1970); None is unbounded; or blank."""

    lo: int | None
    hi: int | None
    knack: int
    warehouse: int
    blank: bool = False


@dataclass
class _Read:
    records: dict[str, dict[str, Any]]
    complete: bool


class ObjectSweep:
    """Sweeps one object after its incremental read; rows to write go to `sink` once the sweep is over."""

    def __init__(self, plan: ScanPlan, client: KnackClient, connection: Any, zone: ZoneInfo, run_at: datetime,
                 upper: datetime | None, sink: Sink, *, dry_run: bool = False,
                 confirm_by_id_max: int = CONFIRM_BY_ID_MAX, rows_per_page: int | None = None) -> None:
        self.plan = plan
        self.client = client
        self.connection = connection
        self.zone = zone
        self.run_at = run_at
        self.upper = upper
        self.sink = sink
        self.dry_run = dry_run
        self.confirm_by_id_max = confirm_by_id_max
        self.rows_per_page = rows_per_page or ROWS_PER_PAGE
        self.stats = SweepStats(plan.object_key)
        self.table = sql.Identifier(DATASET_NAME, plan.table_name)
        modified = plan.modified
        self.by_day = modified is not None and (modified.format or {}).get("time_format") == "Ignore Time"
        self.unit = timedelta(days=1) if self.by_day else timedelta(minutes=1)
        self._modified_raw = f"{modified.key}_raw" if modified is not None else None
        self._upserts: dict[str, dict[str, Any]] = {}
        self._retire: set[str] = set()

    # ---- the sweep ----
    def run(self) -> SweepStats:
        started = time.monotonic()
        self._start = used_before = self._used()
        try:
            if not raw.has_rows(self.connection, self.plan.table_name):
                self.stats.status = "nothing to sweep: no rows in raw yet"
                return self.stats
            live_total, _ = self._live_counts()
            if live_total <= WHOLE_READ_PAGES * self.rows_per_page:
                self._whole_object(f"raw holds at most {WHOLE_READ_PAGES} pages")
            elif self.plan.modified is None or self.upper is None:
                if self._total() == live_total:
                    self.stats.method = "counts"
                    self.stats.status = "clean: Knack's total equals raw's (no usable modified field)"
                else:
                    self._whole_object("no usable modified field")
            else:
                self._bisect()
            self._write()
            return self.stats
        finally:
            self.stats.requests = self._used() - used_before
            self.stats.seconds = round(time.monotonic() - started, 3)

    def _used(self) -> int:
        return self.client.budget.per_object.get(self.plan.object_key, 0)

    def _full_scan_cost(self, total: int) -> int:
        """A reconcile scan's requests: its pages, and the count that ends it."""
        pages = max(math.ceil(total / self.rows_per_page), 1)
        return pages + (1 if pages > 1 else 0)

    # ---- bisection ----
    def _bisect(self) -> None:
        stats = self.stats
        assert self.upper is not None
        upper = self._bucket(self.upper.astimezone(self.zone).replace(tzinfo=None))
        buckets, cumulative = self._histogram(upper)
        live_total, blank_live = self._live_counts()
        below = _Range(None, upper, self._count(None, upper), cumulative[-1] if cumulative else 0)
        blank = _Range(None, None, self._count_blank(), blank_live, blank=True)
        stats.method = "counts"
        full_cost = self._full_scan_cost(max(live_total, below.knack + blank.knack))

        def warehouse(lo: int | None, hi: int | None) -> int:
            start = 0 if lo is None else bisect.bisect_left(buckets, lo)
            end = len(buckets) if hi is None else bisect.bisect_left(buckets, hi)
            return (cumulative[end - 1] if end else 0) - (cumulative[start - 1] if start else 0)

        dirty = [r for r in (below, blank) if r.knack != r.warehouse]
        if not dirty:
            stats.status = "clean: Knack's counts equal raw's"
            return
        stats.method = "bisect"
        levels = math.ceil(math.log2(max(self._pages(below), 2)))
        if levels + 1 + self._confirm_cost(dirty) >= full_cost:
            self._whole_object("bisecting would cost as much as a full read")
            return
        leaves: list[_Range] = []
        slack = full_cost // 20
        split_budget = max(full_cost // 4, 6)  # what a lost bet may cost on top of the read that follows it
        first_finish: int | None = None
        splits = level = 0
        while dirty:
            spent = self._used() - self._start
            finish = sum(self._read_cost(r) for r in [*dirty, *leaves]) + self._confirm_cost([*dirty, *leaves])
            first_finish = finish if first_finish is None else first_finish
            splittable = [r for r in dirty if self._pages(r) > 1 and self._splittable(r, buckets)]
            # splitting is a bet that halves come out clean; scattered deletions make every half differ, so
            # after two levels that saved less than they cost, past a quarter of a full scan's requests, or
            # when even one page per range left would pass a full scan's, it stops and reads what differs
            # whole, or the object when that is cheaper: at worst 1.25 full scans and the two counts
            losing = level >= 2 and first_finish - finish < splits
            least = len(dirty) + len(leaves) + self._confirm_cost([*dirty, *leaves])  # one page each, at best
            too_dear = spent + len(splittable) > split_budget or spent + len(splittable) + least > full_cost + slack
            if not splittable or losing or too_dear:
                if finish > full_cost:
                    self._whole_object(f"{len(dirty) + len(leaves)} ranges differ: a full read is cheaper")
                    return
                leaves.extend(dirty)
                break
            leaves.extend(r for r in dirty if r not in splittable)
            next_level: list[_Range] = []
            for node in splittable:
                cut = self._cut(node, buckets, cumulative, warehouse)
                left_knack = self._count(node.lo, cut)
                left = _Range(node.lo, cut, left_knack, warehouse(node.lo, cut))
                right = _Range(cut, node.hi, node.knack - left_knack, warehouse(cut, node.hi))
                next_level.extend(r for r in (left, right) if r.knack != r.warehouse)
            splits += len(splittable)
            level += 1
            dirty = next_level
        reads = [(leaf, self._read_range(leaf)) for leaf in leaves]
        self._compare(reads)
        stats.status = self._summary()

    def _pages(self, node: _Range) -> int:
        return max(math.ceil(max(node.knack, node.warehouse) / self.rows_per_page), 1)

    def _read_cost(self, node: _Range) -> int:
        pages = self._pages(node)
        return pages + (1 if pages > 1 else 0)

    def _confirm_cost(self, nodes: list[_Range]) -> int:
        """Requests to confirm the ids the ranges miss: one each while few, else the one read above U."""
        missing = sum(max(n.warehouse - n.knack, 0) for n in nodes)
        return missing if missing <= self.confirm_by_id_max else 1

    def _splittable(self, node: _Range, buckets: list[int]) -> bool:
        if node.blank:
            return False
        lo = buckets[0] if node.lo is None and buckets else node.lo
        hi = node.hi
        if lo is None or hi is None:
            return False
        return hi - lo > 1

    def _cut(self, node: _Range, buckets: list[int], cumulative: list[int],
             warehouse: Callable[[int | None, int | None], int]) -> int:
        """A boundary inside the range near its warehouse median, at a bucket raw holds no record in if any."""
        assert node.hi is not None
        lo = node.lo if node.lo is not None else buckets[0]
        hi = node.hi
        start = bisect.bisect_left(buckets, lo)
        end = bisect.bisect_left(buckets, hi)
        if end - start < 2:
            return (lo + hi) // 2 if hi - lo > 1 else hi
        before = cumulative[start - 1] if start else 0
        half = before + (cumulative[end - 1] - before) / 2
        middle = bisect.bisect_left(cumulative, half, start, end)
        # the nearest gap to the median: between bucket i and i+1 with an empty bucket after i
        for offset in range(end - start):
            for i in (middle + offset, middle - offset - 1):
                if start <= i < end - 1 and buckets[i + 1] > buckets[i] + 1:
                    return buckets[i] + 1
        middle = min(max(middle, start + 1), end - 1)
        return buckets[middle]

    # ---- reading ranges and comparing ----
    def _read_range(self, node: _Range) -> _Read:
        self.stats.ranges_read += 1
        if node.blank:
            return self._read(self._blank_filter())
        return self._read(self._filter(node.lo, node.hi))

    def _compare(self, reads: list[tuple[_Range, _Read]]) -> None:
        """Ids raw has and the reads did not: confirmed by id or by the read above U; unknown ids upserted."""
        proven: set[str] = set()
        unproven: set[str] = set()
        for node, read in reads:
            live = self._live_ids(node)
            for record_id, record in read.records.items():
                if record_id not in live:
                    self._upserts[record_id] = record
            missing = live - set(read.records)
            (proven if read.complete else unproven).update(missing)
        self._confirm(proven, unproven)

    def _confirm(self, proven: set[str], unproven: set[str]) -> None:
        stats = self.stats
        stats.candidates = len(proven) + len(unproven)
        candidates = proven | unproven
        if not candidates:
            return
        if len(candidates) <= self.confirm_by_id_max:
            for record_id in sorted(candidates):
                stats.confirmed_by_id += 1
                record = self.client.record(self.plan.object_key, record_id)
                if record is None:
                    self._retire.add(record_id)
                else:
                    self._upserts[record_id] = record
                    stats.moved += 1
            return
        stats.unconfirmed += len(unproven)
        if self.upper is None:
            self._retire.update(proven)
            return
        upper = self._bucket(self.upper.astimezone(self.zone).replace(tzinfo=None))
        recent = self._read(self._filter(upper, None), open_ended=True)
        if not recent.complete:
            stats.unconfirmed += len(proven)
            return
        for record_id in proven:
            if record_id in recent.records:
                self._upserts[record_id] = recent.records[record_id]
                stats.moved += 1
            else:
                self._retire.add(record_id)

    # ---- the whole object: a reconcile scan's requests ----
    def _whole_object(self, why: str) -> None:
        stats = self.stats
        stats.method = "whole"
        stats.ranges_read += 1
        read = self._read(None, open_ended=True)
        live = set(raw.live_ids(self.connection, self.plan.table_name))
        for record_id, record in read.records.items():
            if record_id not in live:
                self._upserts[record_id] = record
        missing = live - set(read.records)
        if read.complete:
            stats.candidates = len(missing)
            self._retire.update(missing)
        elif len(missing) <= self.confirm_by_id_max:
            self._confirm(set(), missing)
        else:
            stats.candidates = stats.unconfirmed = len(missing)
        stats.status = f"read whole: {why}; " + self._summary()

    def _summary(self) -> str:
        s = self.stats
        text = f"{len(self._retire)} retired, {s.moved} moved, {len(self._upserts) - s.moved} added"
        if s.unconfirmed:
            text += f", {s.unconfirmed} not confirmed (pages shifted; retried tomorrow)"
        return text

    # ---- Knack requests ----
    def _rule_value(self, bucket: int) -> str:
        wall = EPOCH + bucket * self.unit
        modified = self.plan.modified
        assert modified is not None
        fmt = modified.format or {}
        date_pattern = DATE_FORMATS[fmt.get("date_format", "mm/dd/yyyy")]
        time_format = fmt.get("time_format", "HH:MM am")
        if self.by_day:
            return wall.strftime(date_pattern)
        if time_format == "HH:MM am":
            am_pm = "am" if wall.hour < 12 else "pm"
            return f"{wall.strftime(date_pattern)} {wall.hour % 12 or 12}:{wall.minute:02d}{am_pm}"
        return wall.strftime(f"{date_pattern} %H:%M")

    def _filter(self, lo: int | None, hi: int | None) -> str | None:
        modified = self.plan.modified
        assert modified is not None
        rules = []
        if lo is not None:
            rules.append({"field": modified.key, "operator": "is after", "value": self._rule_value(lo - 1)})
        if hi is not None:
            rules.append({"field": modified.key, "operator": "is before", "value": self._rule_value(hi)})
        if not rules:
            rules.append({"field": modified.key, "operator": "is not blank"})
        return orjson.dumps({"match": "and", "rules": rules}).decode()

    def _blank_filter(self) -> str:
        assert self.plan.modified is not None
        rule = {"field": self.plan.modified.key, "operator": "is blank"}
        return orjson.dumps({"match": "and", "rules": [rule]}).decode()

    def _count(self, lo: int | None, hi: int | None) -> int:
        self.stats.counts += 1
        return self.client.page(self.plan.object_key, 1, rows_per_page=1, filters=self._filter(lo, hi)).total_records

    def _count_blank(self) -> int:
        self.stats.counts += 1
        return self.client.page(self.plan.object_key, 1, rows_per_page=1, filters=self._blank_filter()).total_records

    def _total(self) -> int:
        self.stats.counts += 1
        return self.client.page(self.plan.object_key, 1, rows_per_page=1).total_records

    def _read(self, filters: str | None, *, open_ended: bool = False) -> _Read:
        """Every page of a range, sorted by the modified field; complete when nothing moved while reading.

        A range closed above `U` gains no record while it is read (a creation or an edit lands at or above
        `U`), so a deletion or an edit in it moves its total, and it is read oldest first. A range open above
        (`open_ended`: the whole object, or the range at or above `U`) gains the records created or edited
        meanwhile: read oldest first, a deletion in a page already read and a creation would slide a record
        still there past the reader with the total unchanged. It is read newest first, as a reconcile scan
        is: a change then lands among the pages already read (a deletion there and a creation cancel out; a
        creation alone shows a record twice). That holds only while no later page holds a record as new as
        the newest of page 1 (else a creation could sort among the unread ties): such a read is not complete.
        """
        key = self.plan.object_key
        sort = self.plan.modified.key if self.plan.modified is not None else None
        newest_first = open_ended and sort is not None
        records: dict[str, dict[str, Any]] = {}
        totals: set[int] = set()
        twice = without_id = not_older = 0
        newest: datetime | None = None
        number, last, cap = 1, 1, MAX_RANGE_PAGES
        while number <= min(last, cap):
            page = self.client.page(key, number, rows_per_page=self.rows_per_page, sort_field=sort,
                                    sort_order="desc" if newest_first else "asc", filters=filters)
            self.stats.pages += 1
            totals.add(page.total_records)
            if number == 1:
                cap = page.total_pages * 2 + 10
            last = max(last, page.total_pages)
            if newest_first:
                instants = [self._modified_of(r) for r in page.records]
                known = [i for i in instants if i is not None]
                if number == 1:
                    newest = max(known) if known else None
                elif page.records:
                    not_older += sum(1 for i in instants if newest is None or (i is not None and i >= newest))
            for record in page.records:
                record_id = record.get("id") if isinstance(record, dict) else None
                if not isinstance(record_id, str) or not record_id:
                    without_id += 1
                elif record_id in records:
                    twice += 1
                else:
                    records[record_id] = record
            if not page.records:
                break
            number += 1
        if number > 2:
            # a read of several pages ends with a count: a total that moved since its first page means pages shifted
            self.stats.counts += 1
            totals.add(self.client.page(key, 1, rows_per_page=1, filters=filters).total_records)
        complete = (len(totals) == 1 and not twice and not without_id and not not_older
                    and len(records) == next(iter(totals)))
        return _Read(records, complete)

    def _modified_of(self, record: Any) -> datetime | None:
        if not isinstance(record, dict) or self._modified_raw is None:
            return None
        return true_instant(record.get(self._modified_raw), self.zone)

    # ---- the warehouse ----
    def _bucket(self, wall: datetime) -> int:
        return int((wall - EPOCH) // self.unit)

    def _bucket_sql(self) -> sql.Composable:
        seconds = 86400 if self.by_day else 60
        text = "floor(extract(epoch from (_knack_modified_at at time zone {zone})) / {seconds})::bigint"
        return sql.SQL(text).format(zone=sql.Literal(self.zone.key), seconds=sql.Literal(seconds))

    def _histogram(self, upper: int) -> tuple[list[int], list[int]]:
        """Raw's live rows per bucket below `upper`: sorted buckets and the running count."""
        query = sql.SQL("select b, count(*) from (select {bucket} as b from {table} where _deleted_at is null"
                        " and _knack_modified_at is not null) s where b < %s group by b order by b").format(
            bucket=self._bucket_sql(), table=self.table)
        buckets: list[int] = []
        cumulative: list[int] = []
        running = 0
        with self.connection.cursor() as cursor:
            cursor.execute(query, (upper,))
            for bucket, count in cursor:
                running += int(count)
                buckets.append(int(bucket))
                cumulative.append(running)
        return buckets, cumulative

    def _live_counts(self) -> tuple[int, int]:
        query = sql.SQL("select count(*), count(*) filter (where _knack_modified_at is null) from {}"
                        " where _deleted_at is null").format(self.table)
        with self.connection.cursor() as cursor:
            cursor.execute(query)
            total, blank = cursor.fetchone()
        return int(total), int(blank)

    def _live_ids(self, node: _Range) -> set[str]:
        if node.blank:
            where = sql.SQL("_knack_modified_at is null")
            params: tuple[Any, ...] = ()
        else:
            bounds = [sql.SQL("_knack_modified_at is not null")]
            params = ()
            if node.lo is not None:
                # an index-friendly bound a day wide of the exact one, then the exact bucket
                bounds.append(sql.SQL("_knack_modified_at >= %s and {} >= %s").format(self._bucket_sql()))
                params += (self._instant(node.lo) - timedelta(days=1), node.lo)
            if node.hi is not None:
                bounds.append(sql.SQL("_knack_modified_at < %s and {} < %s").format(self._bucket_sql()))
                params += (self._instant(node.hi) + timedelta(days=1), node.hi)
            where = sql.SQL(" and ").join(bounds)
        query = sql.SQL("select id from {} where _deleted_at is null and {}").format(self.table, where)
        with self.connection.cursor() as cursor:
            cursor.execute(query, params)
            return {row[0] for row in cursor}

    def _instant(self, bucket: int) -> datetime:
        return (EPOCH + bucket * self.unit).replace(tzinfo=self.zone)

    # ---- writing ----
    def _write(self) -> None:
        stats = self.stats
        stats.retired = len(self._retire)
        stats.retired_ids = sorted(self._retire)
        stats.added = len(self._upserts) - stats.moved
        if self.dry_run:
            return
        if self._upserts:
            self.sink(self._upsert_table())
        for batch in raw.chunks(sorted(self._retire), RETIRE_CHUNK):
            rows = list(raw.rows_to_retire(self.connection, self.plan.table_name, batch))
            if rows:
                self.sink(retired_table(rows, self.run_at))

    def _upsert_table(self) -> pa.Table:
        records = list(self._upserts.values())
        ids = [r["id"] for r in records]
        existing = raw.existing_rows(self.connection, self.plan.table_name, ids)
        modified = [true_instant(r.get(self._modified_raw), self.zone) if self._modified_raw else None
                    for r in records]
        first_seen = [existing[i][0] if i in existing and existing[i][0] else self.run_at for i in ids]
        id_array = pa.array(ids, pa.string())
        return pa.Table.from_arrays([
            id_array,
            pa.array([orjson.dumps(r).decode() for r in records], pa.string()),
            pa.array([created_at(i) for i in ids], TIMESTAMP),
            pa.array(modified, TIMESTAMP),
            pa.array(first_seen, TIMESTAMP),
            pa.array([self.run_at] * len(ids), TIMESTAMP),
            pa.nulls(len(ids), TIMESTAMP),
            id_array,
        ], schema=ARROW_SCHEMA)




def sweep_objects(plans: list[ScanPlan], scans: list[ScanStats], client: KnackClient, database_url: str,
                  zone: ZoneInfo, run_at: datetime, load: Callable[[ScanPlan, list[pa.Table]], None], *,
                  dry_run: bool = False) -> dict[str, SweepStats]:
    """Sweep each object its read left sound, one after another; each object's rows are loaded at its end.

    Skipped: an object read by a reconcile scan (that scan retired what Knack lacks), one whose read saw
    anomalies (raw may miss records, so a count would prove nothing), and one read whole (a first load) where
    raw holds no live row that read did not see. A full read retires nothing, so an object read whole while
    raw already held rows (a full refresh, or cursors lost with the dlt state, e.g. the warehouse restored
    under another database name) is swept like any other: else records deleted before that read would stay
    live until the next run's sweep, and an unchanged rerun would change the marts. A Knack error (the
    request budget spent, Knack down) stops that object's sweep with nothing written.
    """
    from knackhouse.errors import KnackApiError
    from knackhouse.warehouse import connect

    results: dict[str, SweepStats] = {}
    connection = connect(database_url, autocommit=True)
    try:
        for plan, scan in zip(plans, scans, strict=True):
            skipped = SweepStats(plan.object_key, method="none")
            if plan.mode == "reconcile":
                skipped.status = "not needed: this run's reconcile scan"
            elif not scan.done or scan.anomaly:
                skipped.status = "skipped: the read saw anomalies, so raw may lack records"
            elif plan.mode == "full" and not raw.has_live_rows_unseen_since(connection, plan.table_name, run_at):
                skipped.status = "not needed: read whole this run, and raw holds no live record it did not see"
            else:
                tables: list[pa.Table] = []
                sweep = ObjectSweep(plan, client, connection, zone, run_at, scan.cursor_after, tables.append,
                                    dry_run=dry_run)
                try:
                    results[plan.object_key] = sweep.run()
                except KnackApiError as error:
                    stopped = sweep.stats
                    stopped.status = f"stopped, nothing retired: {error}"
                    stopped.retired = 0
                    results[plan.object_key] = stopped
                    log.warning("object %s: deletion sweep stopped: %s", plan.object_key, error)
                    continue
                if tables:
                    load(plan, tables)
                continue
            results[plan.object_key] = skipped
    finally:
        connection.close()
    for result in results.values():
        log.info("%s: deletion sweep %s (%d requests)", result.object_key, result.status, result.requests)
    return results


__all__ = ["ObjectSweep", "SweepStats", "sweep_objects"]
