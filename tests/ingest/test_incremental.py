"""Incremental runs: only what changed is asked for, merged on the Knack id; reruns and dry runs change nothing."""

from __future__ import annotations

import json
import math
from datetime import timedelta

from ingest.settings import OVERLAP


def _changed_since(app, object_key: str, modified_key: str, after_utc) -> int:
    """Records whose modified wall clock is after `after_utc` (by minute, in the app's zone): what Knack returns."""
    table = app.tables[object_key]
    wall = after_utc.astimezone(app.zone).replace(tzinfo=None, second=0, microsecond=0)
    return sum(1 for rid in table.rows if (value := table.value(rid, modified_key)) is not None and value > wall)


def test_an_incremental_run_asks_only_for_records_modified_since_the_cursor_less_the_overlap(demo_app, serve,
                                                                                              ingest) -> None:
    sim = serve(demo_app)
    first = ingest(sim)
    demo_app.advance(days=1)
    sim.reset_counter()
    second = ingest(sim)
    for load in second.objects:
        assert load.mode == "incremental" and not load.full_scan
        before = first.object(load.object_key).cursor_after
        assert load.cursor_before == before
        assert load.records_fetched == _changed_since(demo_app, load.object_key, load.modified_field,
                                                      before - OVERLAP), load.object_key
        assert load.requests == max(1, math.ceil(load.records_fetched / 1000))
    assert second.api_requests == sim.request_count == 1 + sum(o.requests for o in second.objects)


def test_an_incremental_run_merges_the_changes_so_raw_equals_the_truth(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    ingest(sim)
    demo_app.advance(days=3)
    result = ingest(sim)
    truth = demo_app.truth()
    for object_key, ids in truth.live_ids.items():
        assert set(ids) <= set(raw.rows(object_key)), object_key
    sent = {rid: json.loads(demo_app.tables["object_3"].render(rid)) for rid in truth.live_ids["object_3"]}
    assert {i: r["record"] for i, r in raw.rows("object_3").items() if i in sent} == sent
    assert sum(o.inserted for o in result.objects) > 0


def test_a_rerun_with_nothing_changed_in_knack_changes_no_record(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    ingest(sim)
    before = {key: {i: (r["record"], r["_first_seen_at"], r["_deleted_at"]) for i, r in raw.rows(key).items()}
              for key in demo_app.tables}
    again = ingest(sim)
    after = {key: {i: (r["record"], r["_first_seen_at"], r["_deleted_at"]) for i, r in raw.rows(key).items()}
             for key in demo_app.tables}
    assert after == before
    assert all(o.inserted == 0 and o.updated == 0 and o.retired == 0 for o in again.objects)


def test_first_seen_survives_a_merge_while_last_seen_moves_on(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    ingest(sim)
    record_id = sorted(demo_app.tables["object_1"].rows)[0]
    first = raw.rows("object_1")[record_id]
    demo_app.now += timedelta(hours=2)
    demo_app.touch("object_1", record_id)
    result = ingest(sim)
    later = raw.rows("object_1")[record_id]
    assert result.object("object_1").updated == 1
    assert later["_first_seen_at"] == first["_first_seen_at"]
    assert later["_last_seen_at"] > first["_last_seen_at"]
    assert later["_knack_modified_at"] > first["_knack_modified_at"]


def test_an_object_without_a_modified_field_is_scanned_whole_and_says_so(demo_app, serve, ingest, tmp_path) -> None:
    mapping = tmp_path / "mapping.yml"
    mapping.write_text("objects:\n  object_1: {modified_field: field_6}\n")
    sim = serve(demo_app)
    ingest(sim, settings={"app_config": mapping})
    result = ingest(sim, settings={"app_config": mapping})
    assert result.object("object_1").mode == "incremental"
    staff = result.object("object_2")
    assert staff.full_scan and staff.note == "full scan: no modified field configured"
    assert staff.records_fetched == len(demo_app.tables["object_2"].rows)


def test_a_dry_run_reports_what_would_change_and_writes_nothing(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    ingest(sim)
    demo_app.advance(days=2)
    gone = sorted(demo_app.tables["object_3"].rows)[5]
    demo_app.delete("object_3", gone)
    before = raw.snapshot()
    dry = ingest(sim, dry_run=True, reconcile=True)
    assert raw.snapshot() == before
    assert dry.dry_run and dry.object("object_3").retired == 1
    real = ingest(sim, reconcile=True)
    figures = [(o.object_key, o.inserted, o.updated, o.retired, o.unretired) for o in real.objects]
    assert [(o.object_key, o.inserted, o.updated, o.retired, o.unretired) for o in dry.objects] == figures
    assert raw.retired_ids("object_3") == {gone}


def test_a_dry_run_on_an_empty_warehouse_creates_no_raw_table(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    result = ingest(sim, dry_run=True)
    assert raw.tables() == set()
    assert result.object("object_4").inserted == len(demo_app.tables["object_4"].rows)
    audit = raw.query("select object_key, dry_run, inserted from audit.object_loads order by object_key")
    assert [(k, d) for k, d, _ in audit] == [(k, True) for k in sorted(demo_app.tables)]


def test_each_run_writes_one_audit_row_per_object(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    result = ingest(sim, run_id="run-42")
    rows = raw.query("select object_key, table_name, requests, records, inserted, full_scan, status, mode"
                     " from audit.object_loads where run_id = 'run-42' order by object_key")
    assert [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows] == [
        (o.object_key, o.table_name, o.requests, o.records_fetched, o.inserted, True, "ok", "full")
        for o in sorted(result.objects, key=lambda o: o.object_key)]
    total = raw.query("select sum(requests + metadata_requests) from audit.object_loads where run_id = 'run-42'")
    assert total[0][0] == result.api_requests


def test_progress_shows_pages_records_and_requests_per_object_when_asked(demo_app, serve, ingest, capsys) -> None:
    sim = serve(demo_app)
    ingest(sim, progress=True)
    shown = capsys.readouterr().err
    assert "vespa_results" in shown and "requests" in shown and "records/s" in shown
    assert "3/3" in shown  # pages of the results object


def test_progress_stays_quiet_when_not_on_a_terminal(demo_app, serve, ingest, capsys) -> None:
    sim = serve(demo_app)
    ingest(sim, progress=None)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
