"""Deletions: only a scan proven complete retires rows; records that come back are un-retired."""

from __future__ import annotations

from simulator import Faults


def test_a_complete_reconcile_retires_the_records_knack_deleted(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    ingest(sim)
    gone = sorted(demo_app.tables["object_4"].rows)[1500]
    demo_app.delete("object_4", gone)
    result = ingest(sim, reconcile=True)
    assert result.object("object_4").reconcile_status == "complete"
    assert result.object("object_4").retired == 1
    assert raw.retired_ids("object_4") == {gone}
    assert raw.rows("object_4")[gone]["record"]["id"] == gone, "a retired row keeps its record"


def test_an_incremental_run_never_retires_anything(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    ingest(sim)
    demo_app.delete("object_4", sorted(demo_app.tables["object_4"].rows)[3])
    result = ingest(sim)
    assert result.object("object_4").reconcile_status is None
    assert raw.retired_ids("object_4") == set()


def test_a_record_that_comes_back_is_unretired(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    ingest(sim)
    table = demo_app.tables["object_3"]
    back = sorted(table.rows)[10]
    values = table.rows[back]
    demo_app.delete("object_3", back)
    ingest(sim, reconcile=True)
    assert raw.retired_ids("object_3") == {back}
    first_seen = raw.rows("object_3")[back]["_first_seen_at"]
    table.insert(back, values)
    result = ingest(sim, reconcile=True)
    assert result.object("object_3").unretired == 1
    assert raw.retired_ids("object_3") == set()
    assert raw.rows("object_3")[back]["_first_seen_at"] == first_seen


def test_an_object_emptied_in_knack_retires_all_its_rows(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    ingest(sim)
    ids = sorted(demo_app.tables["object_1"].rows)
    for record_id in ids:
        demo_app.delete("object_1", record_id)
    result = ingest(sim, reconcile=True)
    load = result.object("object_1")
    assert (load.reconcile_status, load.total_records, load.retired) == ("complete", 0, len(ids))
    assert raw.retired_ids("object_1") == set(ids) and raw.live_ids("object_1") == set()


def test_pages_shifting_during_a_reconcile_scan_retire_nothing_that_knack_still_has(demo_app, serve, ingest,
                                                                                      raw) -> None:
    sim = serve(demo_app)
    ingest(sim)
    sim.faults = Faults(page_shift_inserts=2, page_shift_deletes=2, page_shift_modifies=2)
    result = ingest(sim, reconcile=True)
    sim.faults = Faults()
    truth = demo_app.truth()
    for object_key in ("object_3", "object_4"):  # the objects with more than one page
        status = result.object(object_key).reconcile_status
        assert status.startswith("skipped: "), status
        assert result.object(object_key).retired == 0
    for object_key, ids in truth.live_ids.items():
        assert not raw.retired_ids(object_key) & set(ids), object_key
    settled = ingest(sim, reconcile=True)
    assert all(o.reconcile_status == "complete" for o in settled.objects)
    for object_key, ids in truth.live_ids.items():
        assert raw.live_ids(object_key) == set(ids), object_key


def test_pages_shifting_by_modifications_alone_are_caught(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    ingest(sim)
    sim.faults = Faults(page_shift_modifies=3)
    result = ingest(sim, reconcile=True)
    assert result.object("object_4").reconcile_status.startswith("skipped: ")
    assert raw.retired_ids("object_4") == set()


def test_a_total_that_the_pages_do_not_hold_stops_the_reconcile_and_says_why(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    ingest(sim)
    demo_app.delete("object_2", sorted(demo_app.tables["object_2"].rows)[0])
    sim.faults = Faults(inflate_total=46)
    result = ingest(sim, reconcile=True)
    held = len(demo_app.tables["object_2"].rows)
    assert result.object("object_2").reconcile_status == (
        f"skipped: Knack reported {held + 46} records but its pages held {held}")
    assert raw.retired_ids("object_2") == set()
