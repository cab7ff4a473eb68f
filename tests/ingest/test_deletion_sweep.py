"""The daily deletion sweep (ingest/sweep.py): after a sweep raw's live set equals Knack's, and nothing Knack
still has is ever retired, whatever the pattern of deletions and whatever changes while the sweep reads."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.pipeline import IngestResult
from simulator import DemoApp, Faults, SimulatorServer
from simulator.deletions import (
    ChangesWhileReading,
    by_modified,
    delete_clustered,
    delete_scattered,
    delete_year_group,
    empty_object,
)

ESTABLISHMENTS, STUDENTS, RESULTS = "object_1", "object_3", "object_4"


PAGE = 100  # the sweep's page here: the demo app's objects become tens of pages, so the sweep bisects them


@pytest.fixture(autouse=True)
def _small_pages(monkeypatch) -> None:
    from ingest import sweep

    monkeypatch.setattr(sweep, "ROWS_PER_PAGE", PAGE)


def matches_knack(app: DemoApp, raw) -> None:
    for object_key, table in app.tables.items():
        assert not raw.retired_ids(object_key) & set(table.rows), f"{object_key}: a record Knack has was retired"
        assert raw.live_ids(object_key) == set(table.rows), object_key


def retired_nothing_knack_has(app: DemoApp, raw) -> None:
    for object_key, table in app.tables.items():
        assert not raw.retired_ids(object_key) & set(table.rows), f"{object_key}: a record Knack has was retired"


@pytest.fixture
def sweeping(ingest: Callable[..., IngestResult]) -> Callable[..., IngestResult]:
    """Ingest with the deletion sweep (the daily flow turns it on by the setting KNACKHOUSE_DELETION_SWEEP)."""
    return lambda sim, settings=None, **kwargs: ingest(sim, settings, **{"sweep": True, **kwargs})


@pytest.fixture
def loaded(demo_app: DemoApp, serve, sweeping) -> SimulatorServer:
    """The demo app loaded and read incrementally once (a day later), so the next run is an ordinary day."""
    sim = serve(demo_app)
    sweeping(sim)
    demo_app.advance(1)
    sweeping(sim)
    return sim


def test_a_quiet_day_costs_two_counts_per_object_or_a_whole_read_of_a_small_one(demo_app, loaded, sweeping,
                                                                               raw) -> None:
    demo_app.advance(1)
    result = sweeping(loaded)
    for load in result.objects:
        small = len(demo_app.tables[load.object_key].rows) <= 4 * PAGE  # sweep.WHOLE_READ_PAGES
        assert load.sweep_status.startswith("read whole" if small else "clean"), (load.object_key, load.sweep_status)
        assert load.sweep_requests == (1 if small else 2)
    matches_knack(demo_app, raw)


def test_scattered_deletions_are_retired_the_same_day(demo_app, loaded, sweeping, raw) -> None:
    gone = delete_scattered(demo_app, RESULTS, 5, random.Random(1))
    demo_app.advance(1)
    load = sweeping(loaded).object(RESULTS)
    assert load.sweep_retired >= len(gone)
    assert set(gone) <= raw.retired_ids(RESULTS)
    matches_knack(demo_app, raw)


def test_a_school_deleting_a_year_group_is_retired_the_same_day(demo_app, loaded, sweeping, raw) -> None:
    gone = delete_year_group(demo_app, random.Random(3))
    assert gone[STUDENTS] and gone[RESULTS]
    result = sweeping(loaded)
    for object_key in (STUDENTS, RESULTS):
        load = result.object(object_key)
        assert set(gone[object_key]) <= raw.retired_ids(object_key), load.sweep_status
        full_scan = -(-len(demo_app.tables[object_key].rows) // PAGE) + 1  # its pages and the count ending it
        assert load.sweep_requests <= full_scan + max(full_scan // 4, 6) + 2, load.sweep_status  # the sweep's bound
    matches_knack(demo_app, raw)


def test_an_emptied_object_is_retired_whole(demo_app, loaded, sweeping, raw) -> None:
    gone = empty_object(demo_app, ESTABLISHMENTS)
    load = sweeping(loaded).object(ESTABLISHMENTS)
    assert load.sweep_retired == len(gone) and raw.live_ids(ESTABLISHMENTS) == set()
    matches_knack(demo_app, raw)


def test_many_clustered_deletions_are_confirmed_without_one_request_each(demo_app, loaded, sweeping, raw) -> None:
    gone = delete_clustered(demo_app, RESULTS, 300, random.Random(4))
    load = sweeping(loaded).object(RESULTS)
    assert load.sweep_retired == len(gone)
    full_scan = -(-len(demo_app.tables[RESULTS].rows) // PAGE) + 1
    assert load.sweep_requests < min(full_scan, len(gone) // 10), load.sweep_status
    matches_knack(demo_app, raw)


def test_records_edited_out_of_a_swept_range_are_kept_not_retired(demo_app, loaded, sweeping, raw) -> None:
    """The edits land after the sweep counted and before it read: the many-deletions path must see them moved."""
    live = raw.live_ids(RESULTS)
    ordered = [i for i in by_modified(demo_app, RESULTS) if i in live]
    cluster = ordered[500:900]
    demo_app.delete_many(RESULTS, cluster[::2])
    moved = cluster[1::2][:40]

    def edit_once(object_key: str, query: dict[str, str]) -> None:
        if object_key == RESULTS and query.get("filters") and query.get("rows_per_page") == str(PAGE) and moved:
            with demo_app.lock:
                for record_id in moved:
                    demo_app.touch(RESULTS, record_id)
            moved.clear()

    loaded.on_records = edit_once
    load = sweeping(loaded).object(RESULTS)
    loaded.on_records = None
    assert not moved, "the sweep read no range of the object"
    assert load.sweep_retired == len(cluster[::2]), load.sweep_status
    matches_knack(demo_app, raw)


def test_deletions_edits_and_creations_while_the_sweep_reads_never_retire_a_record_knack_has(
        demo_app, loaded, sweeping, raw) -> None:
    delete_clustered(demo_app, RESULTS, 40, random.Random(5))
    delete_scattered(demo_app, STUDENTS, 3, random.Random(6))
    hooks = []
    for object_key in (STUDENTS, RESULTS):
        hook = ChangesWhileReading(demo_app, object_key, after=1, times=4, deletes=2, edits=4, creates=2)
        loaded.on_records = hook
        hooks.append(hook)
        sweeping(loaded, objects=[object_key])
        retired_nothing_knack_has(demo_app, raw)
    assert all(hook.deleted and hook.edited and hook.created for hook in hooks), "nothing changed during a sweep"
    loaded.on_records = None
    demo_app.advance(1)
    sweeping(loaded)
    matches_knack(demo_app, raw)


def test_pages_shifting_during_a_sweep_retire_nothing_knack_has(demo_app, loaded, sweeping, raw) -> None:
    delete_clustered(demo_app, RESULTS, 1200, random.Random(7))
    loaded.faults = Faults(page_shift_inserts=2, page_shift_deletes=2, page_shift_modifies=2)
    sweeping(loaded, objects=[RESULTS])
    loaded.faults = Faults()
    retired_nothing_knack_has(demo_app, raw)
    demo_app.advance(1)
    sweeping(loaded)
    matches_knack(demo_app, raw)


def test_a_sweep_killed_half_way_retires_nothing_and_the_next_run_finishes(demo_app, loaded, sweeping, raw,
                                                                             monkeypatch) -> None:
    from ingest import sweep

    gone = delete_clustered(demo_app, RESULTS, 50, random.Random(8))

    def killed(self, *args, **kwargs):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(sweep.ObjectSweep, "_confirm", killed)
    with pytest.raises(KeyboardInterrupt):
        sweeping(loaded)
    assert not raw.retired_ids(RESULTS)
    monkeypatch.undo()
    sweeping(loaded)
    assert set(gone) == raw.retired_ids(RESULTS)
    matches_knack(demo_app, raw)


def test_an_object_without_a_modified_field_is_swept_by_its_total(demo_app, serve, sweeping, raw,
                                                                    empty_mapping: Path) -> None:
    sim = serve(demo_app)
    settings = {"app_config": empty_mapping}
    sweeping(sim, settings)
    gone = delete_scattered(demo_app, STUDENTS, 4, random.Random(9))
    result = sweeping(sim, settings)
    assert result.object(STUDENTS).sweep_retired == len(gone), result.object(STUDENTS).sweep_status
    unchanged = result.object(RESULTS)
    assert unchanged.sweep_requests == 0 and unchanged.sweep_status.startswith("not needed"), (
        "its read saw every live record: nothing to count")
    matches_knack(demo_app, raw)


def test_a_first_load_is_not_swept(demo_app, serve, sweeping) -> None:
    result = sweeping(serve(demo_app))
    for load in result.objects:
        assert load.sweep_requests == 0 and load.sweep_status.startswith("not needed"), load.sweep_status


def test_a_full_refresh_retires_records_deleted_before_it(demo_app, loaded, sweeping, raw) -> None:
    """A full read retires nothing itself: records raw held and the read did not see are the sweep's to check."""
    gone = delete_scattered(demo_app, STUDENTS, 3, random.Random(11))
    result = sweeping(loaded, full_refresh=True)
    assert set(gone) <= raw.retired_ids(STUDENTS), result.object(STUDENTS).sweep_status
    matches_knack(demo_app, raw)


def test_the_sweep_is_recorded_in_audit_object_loads(demo_app, loaded, sweeping, raw) -> None:
    delete_scattered(demo_app, RESULTS, 2, random.Random(10))
    result = sweeping(loaded)
    rows = raw.query("select object_key, sweep_status, sweep_requests, sweep_retired, retired, requests"
                     " from audit.object_loads where run_id = %s", (result.run_id,))
    by_key = {r[0]: r[1:] for r in rows}
    status, requests, retired, all_retired, all_requests = by_key[RESULTS]
    assert retired == 2 and all_retired == 2 and 2 < requests <= all_requests, status
    assert by_key[STUDENTS][0].startswith("clean")


def test_a_deletion_and_a_creation_while_the_sweep_reads_an_object_whole_retire_nothing_knack_has(
        demo_app, loaded, sweeping, raw, monkeypatch) -> None:
    """A record already read is deleted and one created between two pages of a whole read: the total stays, and
    the pages must not slide so that a record Knack still has goes unread and is retired."""
    from datetime import timedelta

    from ingest import sweep

    monkeypatch.setattr(sweep, "WHOLE_READ_PAGES", 10**6)
    changed: list[str] = []

    def delete_and_create(object_key: str, query: dict[str, str]) -> None:
        if object_key != STUDENTS or query.get("filters") or query.get("rows_per_page") != str(PAGE):
            return
        if query.get("page") == "2" and not changed:
            with demo_app.lock:
                ordered = by_modified(demo_app, STUDENTS)
                read = ordered[0] if query.get("sort_order", "asc") == "asc" else ordered[-1]  # on page 1
                demo_app.delete_many(STUDENTS, [read])
                demo_app.now += timedelta(minutes=1)
                source = sorted(demo_app.tables[STUDENTS].rows)[0]
                created = demo_app.insert(STUDENTS, demo_app.tables[STUDENTS].rows[source], demo_app.now)
                demo_app.touch(STUDENTS, created)
                changed.extend([read, created])

    loaded.on_records = delete_and_create
    load = sweeping(loaded, objects=[STUDENTS]).object(STUDENTS)
    loaded.on_records = None
    assert changed, f"the sweep read {STUDENTS} whole in one page: {load.sweep_status}"
    retired_nothing_knack_has(demo_app, raw)
