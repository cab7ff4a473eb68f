"""Pages that shift while a scan reads them: nothing is lost, and nothing Knack still has is retired."""

from __future__ import annotations

from simulator import Faults

SEED = 1  # here the shifts made an ascending scan skip a student and a tie-blind reconcile retire live results
SHIFT = Faults(page_shift_inserts=1, page_shift_deletes=1)  # total_records stays the same: counts alone prove nothing


def test_a_full_scan_under_shifting_pages_never_moves_the_cursor_past_a_record_it_missed(demo_app, serve, ingest,
                                                                                           raw) -> None:
    sim = serve(demo_app, seed=SEED)
    students = demo_app.tables["object_3"]
    before = set(students.rows)
    sim.faults = SHIFT
    first = ingest(sim, objects=["object_3"]).object("object_3")
    sim.faults = Faults()
    throughout = before & set(students.rows)  # in Knack for the whole scan
    missed = throughout - raw.live_ids("object_3")
    assert not missed or (first.cursor_after is None and first.note != "full scan: first load"), (first.note, missed)
    demo_app.advance(days=1)
    ingest(sim, objects=["object_3"])
    assert set(demo_app.truth().live_ids["object_3"]) <= raw.live_ids("object_3")


def test_a_reconcile_under_shifting_pages_with_tied_modified_times_retires_only_records_knack_no_longer_has(
        demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app, seed=SEED)
    ingest(sim, objects=["object_4"])
    demo_app.tie_modified("object_4")  # a bulk update: every result modified in the same minute
    sim.faults = SHIFT
    result = ingest(sim, reconcile=True, objects=["object_4"]).object("object_4")
    sim.faults = Faults()
    live = set(demo_app.tables["object_4"].rows)
    retired = raw.retired_ids("object_4")
    assert not retired & live, result.reconcile_status
    assert retired <= set(demo_app.deleted["object_4"])
    assert result.reconcile_status != "complete"
    assert result.cursor_after == result.cursor_before


def test_a_reconcile_of_records_tied_in_modified_time_is_proven_by_reading_its_pages_again(demo_app, serve, ingest,
                                                                                              raw) -> None:
    sim = serve(demo_app)
    ingest(sim, objects=["object_4"])
    demo_app.tie_modified("object_4")
    gone = sorted(demo_app.tables["object_4"].rows)[1500]
    demo_app.delete("object_4", gone)
    sim.reset_counter()
    result = ingest(sim, reconcile=True, objects=["object_4"]).object("object_4")
    assert result.reconcile_status == "complete"
    assert raw.retired_ids("object_4") == {gone}
    assert sim.object_request_counts["object_4"] == 3 + 1 + 3  # the pages, the end check, the pages again
