"""`run_ingest`: one ingest run, Knack → raw_knack, with its figures for the flow and `audit.object_loads`.

Public API (the Prefect flow calls this):

    from ingest.pipeline import run_ingest, IngestResult, ObjectLoad
    result: IngestResult = run_ingest(settings, database_url, *, reconcile=False, dry_run=False,
                                      full_refresh=False, objects=None, progress=None, run_id=None)

- `settings`: `knackhouse.settings.Settings` (knack_app_id, knack_api_key, knack_api_url, app_config, home).
  Missing app id or key → `ConfigError` (exit 2).
- `reconcile`: scan every selected object whole and retire the rows Knack no longer has: all of them when
  the scan is proven complete, else each one `GET /records/{id}` answers 404 for (up to a limit), else
  none (`reconcile_status` says which). Records that come back are un-retired.
- `dry_run`: read Knack and report per object what would be inserted, updated, retired; raw_knack and
  dlt state are left untouched (the run is still recorded in `audit.object_loads`, `dry_run` true).
- `full_refresh`: ignore the stored cursors (every object read whole); nothing is dropped.
- `objects`: object keys to load (default: all); `exclude`: object keys to leave out.
- `progress`: None → a live table when stderr is a terminal; True/False to force.
- `run_id`: the flow's run id (default: a new uuid); keys this run's rows in `audit.object_loads`.
- `request_budget`: requests allowed per UTC day (default `settings.daily_request_budget`, i.e.
  KNACKHOUSE_DAILY_REQUEST_BUDGET), shared by every run of the UTC day (counted from `audit.object_loads`).
  An object whose planned reads do not fit what is left is postponed, not started (its first page, which
  tells how many pages there are, is reserved for it before any object starts): `IngestResult.postponed`
  names each one and why, and its row in `audit.object_loads` has status `postponed`.
- `requests_per_second`: the shared limiter's rate (default Knack's 10; None only against a simulator
  without limits, for benchmarks).
- `sweep`: after the read, run the deletion sweep (`ingest/sweep.py`) on every object not reconciled; the daily
  flow passes `Settings.deletion_sweep` (on by default). Its figures: `sweep_status`, `sweep_requests`,
  `sweep_retired`.

Returns `IngestResult`: `objects` (list of `ObjectLoad`: object_key, table_name, requests, pages,
records_fetched, inserted, updated, retired, unretired, total_records (Knack's at scan time), full_scan,
reconcile_status ("complete" | "confirmed by id: <what>" | "skipped: <why>" | None), modified_field, seconds,
plus mode, note, cursor_before, cursor_after), `api_requests` (including the metadata call), `metadata` (the
app metadata body), `timezone_iana`, and run bookkeeping (run_id, dry_run, request_budget, requests_today,
field_changes, load_ids, postponed).

Knack failures raise `KnackApiError` (exit 3): 401/403/404 at once, naming the app and the object; 429 and
5xx after dlt's retries. Records PostgreSQL refuses raise `RecordsRefused` (exit 3): their package is set
aside and no cursor moves (docs/architecture.md, raw_knack). The API key never appears in a message, log
line, state or table.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import shutil
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import Empty, Full, Queue
from typing import Any
from zoneinfo import ZoneInfo

from ingest import audit, raw
from ingest.client import BudgetShort, KnackClient, RateLimiter, RequestBudget
from ingest.metadata import (
    AppMetadata,
    app_row,
    assign_table_names,
    field_changes,
    field_rows,
    object_rows,
    parse_metadata,
)
from ingest.progress import IngestProgress
from ingest.scan import Chunk, ObjectScan, ScanCancelled, ScanPlan, ScanStats, empty_table, make_plan
from ingest.settings import (
    BATCH_RECORDS,
    DATASET_NAME,
    MAX_QUEUED_PAGES,
    OBJECT_WORKERS,
    PIPELINE_NAME,
    PREFETCH_PAGES,
    REQUESTS_PER_SECOND,
    SOURCE_NAME,
)
from knackhouse.errors import ConfigError, RecordsRefused
from knackhouse.settings import Settings, configure_environment
from knackhouse.warehouse import ConnectionParts, connect, dlt_credentials

log = logging.getLogger(__name__)


def load_id_index(table: str) -> str:
    """Name of a raw table's load-id index: within PostgreSQL's 63 characters, unique per table."""
    return f"{table[:40]}_{hashlib.md5(table.encode()).hexdigest()[:8]}_load_id"


class _ExpectedArrowHints(logging.Filter):
    """`record` arrives as arrow text and is declared json on purpose: dlt's warning about it is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "when merging arrow schema with dlt schema" not in record.getMessage()


_DLT_LOG_FILTER = _ExpectedArrowHints()


@dataclass(frozen=True)
class ObjectLoad:
    """What one run did for one Knack object."""

    object_key: str
    table_name: str
    requests: int
    pages: int
    records_fetched: int
    inserted: int
    updated: int
    retired: int
    unretired: int
    total_records: int | None
    full_scan: bool
    reconcile_status: str | None
    modified_field: str | None
    seconds: float
    mode: str = "full"
    note: str | None = None
    cursor_before: datetime | None = None
    cursor_after: datetime | None = None
    sweep_status: str | None = None
    sweep_requests: int = 0
    sweep_retired: int = 0


@dataclass(frozen=True)
class IngestResult:
    """What one ingest run did."""

    run_id: str
    objects: list[ObjectLoad]
    api_requests: int
    metadata: dict[str, Any]
    timezone_iana: str
    dry_run: bool = False
    request_budget: int | None = None
    requests_today: int = 0
    field_changes: list[dict[str, Any]] = field(default_factory=list)
    load_ids: list[str] = field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    postponed: list[dict[str, str]] = field(default_factory=list)  # object_key, table_name, reason

    def object(self, object_key: str) -> ObjectLoad:
        return next(o for o in self.objects if o.object_key == object_key)


def run_ingest(settings: Settings, database_url: str, *, reconcile: bool = False, dry_run: bool = False,
               full_refresh: bool = False, objects: Sequence[str] | None = None, progress: bool | None = None,
               run_id: str | None = None, exclude: Sequence[str] | None = None,
               request_budget: int | None = None,
               requests_per_second: float | None = REQUESTS_PER_SECOND, sweep: bool = False) -> IngestResult:
    """Copy the Knack app into raw_knack (see the module docstring)."""
    if not settings.knack_app_id:
        raise ConfigError("KNACK_APP_ID is not set: knackhouse needs the Knack application id")
    if not settings.knack_api_key:
        raise ConfigError(f"KNACK_API_KEY is not set: knackhouse needs the REST API key of Knack app "
                          f"{settings.knack_app_id}")
    configure_environment(settings)
    return _Run(settings, database_url, reconcile=reconcile, dry_run=dry_run, full_refresh=full_refresh,
                objects=objects, exclude=exclude, progress=progress, run_id=run_id or uuid.uuid4().hex,
                request_budget=settings.daily_request_budget if request_budget is None else request_budget,
                requests_per_second=requests_per_second, sweep=sweep).execute()


class _Run:
    """One run's moving parts: client, dlt pipeline, scans in threads, batches into dlt."""

    def __init__(self, settings: Settings, database_url: str, *, reconcile: bool, dry_run: bool, full_refresh: bool,
                 objects: Sequence[str] | None, exclude: Sequence[str] | None, progress: bool | None, run_id: str,
                 request_budget: int, requests_per_second: float | None, sweep: bool = True) -> None:
        self.settings = settings
        self.database_url = database_url
        self.reconcile = reconcile
        self.dry_run = dry_run
        self.full_refresh = full_refresh
        self.only = list(objects) if objects is not None else None
        self.exclude = set(exclude or [])
        self.run_id = run_id
        self.run_at = datetime.now(UTC)
        self.modified_limit = self.run_at + timedelta(minutes=settings.future_tolerance_minutes)
        self.app_id = str(settings.knack_app_id)
        self.daily_budget = request_budget
        self.requests_per_second = requests_per_second
        self.progress = IngestProgress(progress, f"Knack app {self.app_id} → {DATASET_NAME}")
        self.load_ids: list[str] = []
        self.stop = threading.Event()
        self.import_dir = settings.home / "dlt" / "import" / run_id
        self.postponed: dict[str, str] = {}
        self.sweep = sweep
        self.sweeps: dict[str, Any] = {}

    # ---- the run ----
    def execute(self) -> IngestResult:
        audit.ensure_table(self.database_url)
        used_today = self.used_today = audit.requests_today(self.database_url, self.run_at)
        self.budget = RequestBudget(self.app_id, max(self.daily_budget - used_today, 0))
        if not self.budget.left:
            reason = (f"the day's budget of {self.daily_budget} requests is used up ({used_today} made today, "
                      "UTC); not even the app's metadata was read (KNACKHOUSE_DAILY_REQUEST_BUDGET)")
            log.warning("Knack app %s: every object postponed: %s", self.app_id, reason)
            return IngestResult(run_id=self.run_id, objects=[], api_requests=0, metadata={}, timezone_iana="UTC",
                                dry_run=self.dry_run, request_budget=0, requests_today=used_today,
                                started_at=self.run_at, finished_at=datetime.now(UTC),
                                postponed=[{"object_key": "every object", "table_name": "", "reason": reason}])
        client = KnackClient(self.settings.knack_api_url, self.app_id, str(self.settings.knack_api_key),
                             limiter=RateLimiter(self.requests_per_second), budget=self.budget,
                             max_connections=OBJECT_WORKERS * PREFETCH_PAGES + 4)
        self.pipeline = self._pipeline()
        if not self.dry_run:
            self._finish_pending_loads()
        state = self._stored_state()
        body = client.metadata()
        meta = parse_metadata(body, self.app_id)
        zone = ZoneInfo(meta.timezone_iana)
        mapping = _load_mapping(self.settings)
        tables = assign_table_names(meta.objects, state.get("tables") or raw.stored_table_names(self.database_url))
        selected = self._select(meta)
        for obj in selected:  # each object's first page (which tells how many pages it has) is kept for it
            try:
                self.budget.ensure(1, f"reading object {obj.key} (its first page)", object_key=obj.key)
            except BudgetShort as short:
                self.postponed[obj.key] = self._postponed_because(short)
        cursors = state.get("cursors") or {}
        plans = [self._plan(obj, tables[obj.key], mapping.get(obj.key), _instant(cursors.get(obj.key)), zone)
                 for obj in selected]
        changes = field_changes(raw.stored_fields(self.database_url), meta.objects, self.run_at, self.run_id)
        modified_fields = {o.key: mapping.get(o.key) for o in meta.objects}
        metadata_rows = {
            "_knack_app": [app_row(meta, self.run_at)],
            "_knack_objects": object_rows(meta.objects, tables, modified_fields),
            "_knack_fields": field_rows(meta.objects),
            "_knack_field_changes": changes,
        }
        for change in changes:
            log.warning("Knack app %s: %s", self.app_id, change["detail"])
        stats: list[ScanStats] = []
        status = "failed"
        try:
            stats = self._scan_and_load(plans, client, zone, metadata_rows, tables)
            if self.sweep:
                self.sweeps = self._sweep(plans, stats, client, zone)
            status = "ok"
        finally:
            if stats or status == "failed":
                self._record(plans, stats, status)
        loads = [self._object_load(plan, s) for plan, s in zip(plans, stats, strict=True)]
        for key, reason in self.postponed.items():
            log.warning("Knack app %s: object %s postponed: %s", self.app_id, key, reason)
        for load in loads:
            log.info("%s (%s): %s, %d requests, %d records, +%d ~%d -%d%s", load.object_key, load.table_name,
                     load.mode, load.requests, load.records_fetched, load.inserted, load.updated, load.retired,
                     f", reconcile {load.reconcile_status}" if load.reconcile_status else "")
        return IngestResult(
            run_id=self.run_id, objects=loads, api_requests=self.budget.used, metadata=body,
            timezone_iana=meta.timezone_iana, dry_run=self.dry_run, request_budget=self.budget.limit,
            requests_today=used_today + self.budget.used, field_changes=changes, load_ids=self.load_ids,
            started_at=self.run_at, finished_at=datetime.now(UTC),
            postponed=[{"object_key": p.object_key, "table_name": p.table_name, "reason": self.postponed[p.object_key]}
                       for p in plans if p.object_key in self.postponed],
        )

    def _plan(self, obj: Any, table: str, modified_key: str | None, cursor: datetime | None,
              zone: ZoneInfo) -> ScanPlan:
        """The object's scan plan; a stored cursor in the future (left by an older version) is not trusted."""
        distrusted = cursor is not None and cursor > self.modified_limit
        plan = make_plan(obj, table, modified_key, None if distrusted else cursor, zone=zone,
                         reconcile=self.reconcile, full_refresh=self.full_refresh)
        if distrusted and plan.mode == "full":
            note = f"full scan: the stored cursor {cursor.isoformat()} is in the future, so it was not used"  # type: ignore[union-attr]
            log.warning("object %s: %s", obj.key, note)
            plan = dataclasses.replace(plan, note=note)
        return plan

    def _select(self, meta: AppMetadata) -> list[Any]:
        keys = {o.key for o in meta.objects}
        for key in [*(self.only or []), *self.exclude]:
            if key not in keys:
                raise ConfigError(f"Knack app {self.app_id} has no object {key} (it has {', '.join(sorted(keys))})")
        chosen = [o for o in meta.objects if (self.only is None or o.key in self.only) and o.key not in self.exclude]
        return chosen

    # ---- scanning in threads, loading in batches ----
    def _scan_and_load(self, plans: list[ScanPlan], client: KnackClient, zone: ZoneInfo,
                       metadata_rows: dict[str, list[dict[str, Any]]], tables: dict[str, str]) -> list[ScanStats]:
        feed: Queue[Chunk] = Queue(maxsize=MAX_QUEUED_PAGES)

        def sink(chunk: Chunk) -> None:
            while True:
                if self.stop.is_set():
                    raise ScanCancelled(chunk.object_key)
                try:
                    feed.put(chunk, timeout=0.2)
                    return
                except Full:
                    continue

        fetch_pool = ThreadPoolExecutor(max_workers=OBJECT_WORKERS * PREFETCH_PAGES, thread_name_prefix="knack-page")
        object_pool = ThreadPoolExecutor(max_workers=OBJECT_WORKERS, thread_name_prefix="knack-object")
        scans = [ObjectScan(plan, client, self.database_url, zone, self.run_at, sink, self.stop, fetch_pool,
                            dry_run=self.dry_run, modified_limit=self.modified_limit) for plan in plans]
        stats = [scan.stats for scan in scans]
        object_tables = {plan.object_key: plan.table_name for plan in plans}
        exists = {plan.table_name for plan in plans if self._table_exists(plan.table_name)}
        loaded_before = frozenset(exists)
        # a table this run creates holds only this run's rows, each id once (the scan drops repeats): its
        # batches are appended (COPY straight into the table) instead of staged and merged
        created = frozenset(object_tables.values()) - exists
        batch = self._new_batch(object_tables, created, metadata_rows, tables)
        self.progress.start()
        futures: list[Future[ScanStats]] = []
        try:
            futures = [object_pool.submit(self._scan_unless_postponed, scan) for scan in scans]
            while True:
                try:
                    chunk: Chunk | None = feed.get(timeout=0.1)
                except Empty:
                    chunk = None
                if chunk is not None:
                    self._add(batch, chunk, object_tables, exists)
                for future in futures:
                    if future.done() and future.exception() is not None:
                        raise future.exception()  # type: ignore[misc]
                finished = all(f.done() for f in futures) and feed.empty()
                if finished:  # a postponed object that has no table yet gets an empty one, as an empty object
                    for key in self.postponed:
                        table = object_tables[key]
                        if table not in exists and table not in batch.tables:
                            batch.tables[table] = [empty_table()]
                if not self.dry_run and (batch.rows >= BATCH_RECORDS or (finished and _has_work(batch))):
                    self.progress.update(stats, self.budget, "loading into PostgreSQL", force=True)
                    self._load(batch, exists)
                    batch = self._new_batch(object_tables, created, None, None)
                self.progress.update(stats, self.budget)
                if finished:
                    break
            if not self.dry_run:
                # one index build per table once its rows are in, not an index update per row while loading;
                # a table left without its key by a killed run gets it at the end of the next
                self._add_keys(exists, loaded_before)
        except BaseException:
            self.stop.set()
            raise
        finally:
            object_pool.shutdown(wait=True, cancel_futures=True)
            fetch_pool.shutdown(wait=True, cancel_futures=True)
            self.progress.stop(stats, self.budget)
        return stats

    def _scan_unless_postponed(self, scan: ObjectScan) -> ScanStats:
        """The object's scan, unless its planned reads do not fit the budget: then it is postponed unread."""
        key = scan.plan.object_key
        try:
            if key not in self.postponed:
                scan.run()
        except BudgetShort as short:
            self.postponed[key] = self._postponed_because(short)
        finally:
            self.budget.release(key)
        return scan.stats

    def _postponed_because(self, short: BudgetShort) -> str:
        return (f"{short.what} needs {short.needed} more request(s), {short.left} left of the day's budget of "
                f"{self.daily_budget} (KNACKHOUSE_DAILY_REQUEST_BUDGET; {self.used_today} used by earlier runs "
                "today, UTC)")

    def _new_batch(self, object_tables: dict[str, str], created: frozenset[str],
                   metadata_rows: dict[str, list[dict[str, Any]]] | None, tables: dict[str, str] | None) -> Any:
        from ingest.source import LoadBatch

        return LoadBatch(metadata=metadata_rows, table_names=tables, object_tables=object_tables,
                         import_dir=self.import_dir, append_tables=created)

    def _add(self, batch: Any, chunk: Chunk, object_tables: dict[str, str], exists: set[str]) -> None:
        table_name = object_tables[chunk.object_key]
        if chunk.table is not None and chunk.table.num_rows:
            batch.tables.setdefault(table_name, []).append(chunk.table)
        if chunk.final:
            batch.cursors[chunk.object_key] = chunk.cursor
            if table_name not in exists and table_name not in batch.tables:
                batch.tables[table_name] = [empty_table()]

    def _load(self, batch: Any, exists: set[str]) -> None:
        """One dlt load: extract the batch into a load package, normalize it, load it (state included)."""
        from ingest.source import knack_source

        self.import_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.pipeline.extract(knack_source(batch), loader_file_format="csv")
        finally:
            shutil.rmtree(self.import_dir, ignore_errors=True)  # the load package holds its own copies
        self.pipeline.normalize()
        try:
            info = self.pipeline.load()
        except Exception as error:
            refusal = _refusal(error)
            if refusal is None:
                raise  # not the data (the database went away...): the package stays for the next run
            folder = self._set_aside()
            raise RecordsRefused(
                f"PostgreSQL refused records Knack sent ({refusal}). Nothing of this load was committed and "
                f"the cursors stay where they were, so the next run reads these records from Knack again; fix "
                f"the record in Knack if it fails again. The refused load package was set aside in {folder}."
            ) from None
        self.load_ids.extend(info.loads_ids)
        exists.update(batch.tables)

    def _sweep(self, plans: list[ScanPlan], stats: list[ScanStats], client: KnackClient,
               zone: ZoneInfo) -> dict[str, Any]:
        """The deletion sweep (ingest/sweep.py) after the read; its upserts and retirements go through dlt."""
        from ingest.sweep import sweep_objects

        def load(plan: ScanPlan, rows: list[Any]) -> None:
            batch = self._new_batch({plan.object_key: plan.table_name}, frozenset(), None, None)
            batch.tables[plan.table_name] = rows
            self._load(batch, set())

        return sweep_objects(plans, stats, client, self.database_url, zone, self.run_at, load, dry_run=self.dry_run)

    # ---- dlt ----
    def _pipeline(self) -> Any:
        import dlt

        dlt_logger = logging.getLogger("dlt")
        if _DLT_LOG_FILTER not in dlt_logger.filters:
            dlt_logger.addFilter(_DLT_LOG_FILTER)
        dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
        dlt.config["normalize.parquet_normalizer.add_dlt_id"] = True
        dlt.config["data_writer.disable_compression"] = True
        parts = ConnectionParts.from_url(self.database_url)
        where = hashlib.sha1(f"{parts.host}:{parts.port}/{parts.dbname}".encode()).hexdigest()[:10]
        return dlt.pipeline(
            pipeline_name=f"{PIPELINE_NAME}_{where}",
            destination=dlt.destinations.postgres(dlt_credentials(self.database_url), create_indexes=True),
            dataset_name=DATASET_NAME,
            pipelines_dir=str(self.settings.state_dir("dlt") / "pipelines"),
        )

    def _finish_pending_loads(self) -> None:
        """A run killed mid-load left a package behind: load it before reading anything new.

        A package PostgreSQL refuses (a value it cannot store) would fail every run that retried it: it
        is set aside instead. Its records are read from Knack again, as the committed cursors never
        moved past them.
        """
        pipeline = self.pipeline
        if not pipeline.has_pending_data:
            return
        log.warning("loading the packages a previous ingest run left unfinished")
        _archive_completed_packages(pipeline)
        _drop_half_deleted_extracts(pipeline)
        try:
            if pipeline.list_extracted_load_packages():
                pipeline.normalize()
            if pipeline.list_normalized_load_packages():
                self.load_ids.extend(pipeline.load().loads_ids)
        except Exception as error:
            refusal = _refusal(error)
            if refusal is None:
                raise
            folder = self._set_aside()
            log.warning("PostgreSQL refused a load package a previous run left (%s): it was set aside in %s, and "
                        "its records are read from Knack again", refusal, folder)

    def _set_aside(self) -> Path:
        """Move dlt's working folder (pending packages, and the local state that counted them in) aside.

        The pipeline starts again from what the destination committed: its state (cursors, table names)
        and schema. The folder is kept for inspection (it holds records: delete it once read).
        """
        pipeline = self.pipeline
        folder = self.settings.state_dir("dlt") / "set_aside" / f"{datetime.now(UTC):%Y%m%dT%H%M%S}_{self.run_id[:8]}"
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if pipeline.is_active:
            pipeline.deactivate()
        shutil.move(pipeline.working_dir, folder)
        self.pipeline = self._pipeline()
        self.pipeline.sync_destination()
        return folder

    def _stored_state(self) -> dict[str, Any]:
        """The source's state (table names, cursors) as the last committed load left it.

        dlt keeps the newer of its local state and the destination's, so a load that failed or was
        removed would leave its cursors behind locally, past records never committed. Local state is
        reset from the destination whenever the two differ: a cursor is only ever a committed one.
        """
        if self.dry_run:
            return committed_state(self.database_url)
        self.pipeline.sync_destination()
        committed = committed_state(self.database_url, self.pipeline.pipeline_name)
        local = dict(self.pipeline.state.get("sources", {}).get(SOURCE_NAME, {}))
        if local != committed:
            log.warning("dlt's local state is not the one the last committed load stored (a load failed or "
                        "was removed): restoring it from %s", DATASET_NAME)
            self.pipeline = self.pipeline.drop()
            self.pipeline.sync_destination()
            local = dict(self.pipeline.state.get("sources", {}).get(SOURCE_NAME, {}))
        return local

    # ---- raw_knack housekeeping ----
    def _table_exists(self, table: str) -> bool:
        connection = connect(self.database_url, autocommit=True)
        try:
            return raw.table_exists(connection, table)
        finally:
            connection.close()

    def _add_keys(self, tables: set[str], loaded_before: frozenset[str]) -> None:
        """The contract's primary key on `id` (dlt makes it not null), and an index on the load id, where missing.

        The load-id index lets dbt read only the rows of newer loads (incremental models, staging tests)
        without scanning every record's JSON. Only a table loaded before this run gets it: a first load has
        nothing older to tell apart, so the index (and the analyze that gives PostgreSQL its statistics,
        after which a new load's upper end is read from the index itself) is paid once, on the first
        incremental load, not by every full load. Idempotent.
        """
        from psycopg2 import sql

        connection = connect(self.database_url, autocommit=True)
        try:
            with connection.cursor() as cursor:
                for table in sorted(tables):
                    name = sql.Identifier(DATASET_NAME, table)
                    cursor.execute(
                        "select count(*) from pg_constraint where conrelid = to_regclass(%s) and contype = 'p'",
                        (name.as_string(connection),),
                    )
                    if cursor.fetchone()[0] == 0:
                        cursor.execute(sql.SQL("alter table {} add primary key (id)").format(name))
                    if table not in loaded_before:
                        continue
                    index = load_id_index(table)
                    qualified = sql.Identifier(DATASET_NAME, index).as_string(connection)
                    cursor.execute("select to_regclass(%s) is null", (qualified,))
                    if cursor.fetchone()[0]:
                        create = sql.SQL("create index {} on {} ((_dlt_load_id::numeric))")
                        cursor.execute(create.format(sql.Identifier(index), name))
                        cursor.execute(sql.SQL("analyze {}").format(name))
        finally:
            connection.close()

    # ---- results ----
    def _object_load(self, plan: ScanPlan, stats: ScanStats) -> ObjectLoad:
        note = "; ".join(n for n in (plan.note, stats.anomaly, stats.future_note) if n) or None
        sweep = self.sweeps.get(plan.object_key)
        return ObjectLoad(
            object_key=plan.object_key, table_name=plan.table_name,
            requests=self.budget.per_object.get(plan.object_key, 0), pages=stats.pages,
            records_fetched=stats.records_fetched, inserted=stats.inserted, updated=stats.updated,
            retired=stats.retired + (sweep.retired if sweep else 0), unretired=stats.unretired,
            total_records=stats.total_records, full_scan=plan.full_scan, reconcile_status=stats.reconcile_status,
            modified_field=plan.modified.key if plan.modified is not None else None,
            seconds=round(max(stats.finished - stats.started, 0.0), 3), mode=plan.mode, note=note,
            cursor_before=plan.cursor_before, cursor_after=stats.cursor_after,
            sweep_status=sweep.status if sweep else None, sweep_requests=sweep.requests if sweep else 0,
            sweep_retired=sweep.retired if sweep else 0,
        )

    def _record(self, plans: list[ScanPlan], stats: list[ScanStats], status: str) -> None:
        finished = datetime.now(UTC)
        by_key = {s.object_key: s for s in stats}
        rows = []
        for index, plan in enumerate(plans):
            s = by_key.get(plan.object_key) or ScanStats(plan.object_key, plan.table_name)
            sweep = self.sweeps.get(plan.object_key)
            rows.append({
                "run_id": self.run_id, "object_key": plan.object_key, "table_name": plan.table_name,
                "mode": plan.mode,
                "status": "postponed" if plan.object_key in self.postponed
                else status if s.done or status == "failed" else "failed",
                "dry_run": self.dry_run, "requests": self.budget.per_object.get(plan.object_key, 0),
                "pages": s.pages, "records": s.records_fetched, "inserted": s.inserted, "updated": s.updated,
                "retired": s.retired + (sweep.retired if sweep else 0), "unretired": s.unretired,
                "total_records": s.total_records, "sweep_status": sweep.status if sweep else None,
                "sweep_requests": sweep.requests if sweep else 0, "sweep_retired": sweep.retired if sweep else 0,
                "full_scan": plan.full_scan, "modified_field": plan.modified.key if plan.modified else None,
                "reconcile_status": s.reconcile_status,
                "note": "; ".join(n for n in (plan.note, s.anomaly, s.future_note, self.postponed.get(plan.object_key))
                                  if n) or None,
                "cursor_before": plan.cursor_before, "cursor_after": s.cursor_after,
                "metadata_requests": self.budget.per_object.get("_metadata", 0) if index == 0 else 0,
                "started_at": self.run_at, "finished_at": finished,
            })
        audit.record(self.database_url, rows)


def _has_work(batch: Any) -> bool:
    return bool(batch.metadata is not None or batch.tables or batch.cursors)


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _load_mapping(settings: Settings) -> dict[str, str | None]:
    """object key → modified field key, from the app mapping (knackhouse.app_config)."""
    from knackhouse.app_config import load_app_config

    config = load_app_config(settings.app_config)
    objects = (config.raw.get("objects") or {}) if hasattr(config, "raw") else {}
    return {key: config.modified_field(key) for key in objects}


def committed_state(database_url: str, pipeline_name: str | None = None) -> dict[str, Any]:
    """The source state of the newest *completed* load (`_dlt_loads` status 0), read without touching anything.

    A state row whose load never completed (the load failed, or was killed, after its state was written)
    is not committed and is never read.
    """
    from dlt.common.versioned_state import decompress_state

    connection = connect(database_url, autocommit=True)
    try:
        if not (raw.table_exists(connection, "_dlt_pipeline_state") and raw.table_exists(connection, "_dlt_loads")):
            return {}
        with connection.cursor() as cursor:
            cursor.execute(
                f"select s.state from {DATASET_NAME}._dlt_pipeline_state s"
                f" join {DATASET_NAME}._dlt_loads l on l.load_id = s._dlt_load_id and l.status = 0"
                " where s.pipeline_name like %s order by l.load_id::numeric desc, s.version desc limit 1",
                (pipeline_name or f"{PIPELINE_NAME}%",))
            row = cursor.fetchone()
    finally:
        connection.close()
    if row is None:
        return {}
    return dict(decompress_state(row[0]).get("sources", {}).get(SOURCE_NAME, {}))


def _refusal(error: BaseException) -> str | None:
    """What PostgreSQL refused, when a load failed on the data itself (a data exception or a violated
    constraint: retrying the same package cannot succeed); None for anything else (a lost connection...)."""
    import psycopg2

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, psycopg2.DataError | psycopg2.IntegrityError):
            return _describe(current)
        current = current.__cause__ or current.__context__
    return None


def _describe(error: Any) -> str:
    """PostgreSQL's message, detail and the table and line of the COPY, never the row itself (personal data)."""
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(error).splitlines()[0]
    parts = [primary, getattr(diag, "message_detail", None)]
    context = getattr(diag, "context", None) or ""
    where = re.search(r"COPY (\S+), line (\d+)", context)
    if where:
        parts.append(f"table {where.group(1)}, row {where.group(2)} of the file")
    return "; ".join(" ".join(p.split()) for p in parts if p)


def _archive_completed_packages(pipeline: Any) -> None:
    """Move to `loaded` the packages a kill caught between dlt's completed marker and its archiving.

    dlt commits the load to the destination, writes the package's completed marker, then renames the
    package into its loaded folder; a SIGKILL between the last two leaves a finished package among the
    normalized ones, and `load()` then fails on it with `LoadPackageAlreadyCompleted` for ever.
    """
    storage = pipeline._get_load_storage()
    for load_id in pipeline.list_normalized_load_packages():
        if storage.normalized_packages.is_package_completed(load_id):
            log.warning("archiving package %s: it was loaded before the previous run was killed", load_id)
            storage.storage.rename_tree(storage.get_normalized_package_path(load_id),
                                        storage.get_loaded_package_path(load_id))


def _drop_half_deleted_extracts(pipeline: Any) -> None:
    """Remove the extracted packages a kill caught while dlt's normalize was deleting them.

    Normalize commits a package's normalized copy, then deletes its extracted files ("do not kill this
    process"); a SIGKILL in between leaves an extracted folder whose schema.json may already be gone, and every
    later `normalize()` fails on it. Such a folder is debris: its normalized twin is pending or loaded, or,
    without a schema, it can't be normalized at all and its records are read from Knack again (cursors are only
    ever the committed ones).
    """
    extracted = Path(pipeline.working_dir) / "normalize" / "extracted"
    committed = set(pipeline.list_normalized_load_packages())
    committed |= {p.name for p in (Path(pipeline.working_dir) / "load" / "loaded").glob("*")}
    for folder in sorted(extracted.glob("*")) if extracted.is_dir() else []:
        if folder.name in committed or not (folder / "schema.json").exists():
            log.warning("removing extracted package %s: a previous run was killed while dlt deleted it", folder.name)
            shutil.rmtree(folder)


__all__ = ["IngestResult", "ObjectLoad", "run_ingest"]
