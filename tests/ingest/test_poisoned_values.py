"""Values Knack may hold that PostgreSQL or the cursor cannot take: NUL characters, a far-future "Date Modified".

Neither may lose data: the value is stored safely and listed as a parse problem, a load PostgreSQL refuses is
set aside without moving any cursor, and a cursor is only ever one a committed load stored.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import ingest.pipeline as pipeline
import ingest.scan as scan
from ingest.pipeline import committed_state
from knackhouse import staging_sql
from knackhouse.dbt import read_metadata
from knackhouse.errors import RecordsRefused

RESULTS, NAME, MODIFIED = "object_4", "field_21", "field_31"   # the demo app's results, student name, date modified
FAR_FUTURE = datetime(9999, 12, 31, 23, 59)


def _latest_result(app) -> str:
    table = app.tables[RESULTS]
    return max(table.rows, key=lambda rid: (table.value(rid, MODIFIED), rid))


def _put_nul_in_a_name(app) -> str:
    """A result whose student's first name holds a NUL character (pasted into Knack from another program)."""
    record_id = _latest_result(app)
    name = dict(app.tables[RESULTS].value(record_id, NAME))
    name["first"] = name.get("first", "Sam") + "\x00x"
    app.set_value(RESULTS, record_id, NAME, name)
    return record_id


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _assert_raw_is_the_truth(app, raw) -> None:
    for object_key, ids in app.truth().live_ids.items():
        rows = raw.rows(object_key)
        assert set(ids) <= set(rows), f"{object_key}: {len(set(ids) - set(rows))} records missing from raw"
        for record_id in ids:
            sent = _without_nul(json.loads(app.tables[object_key].render(record_id)))
            stored = dict(rows[record_id]["record"])
            stored.pop("_knackhouse", None)
            assert stored == sent, (object_key, record_id)


def _parse_problems(database_url: str, raw, tolerance: int = 60) -> list[tuple[str, ...]]:
    """The generated `stg_knack__parse_problems` SQL run straight against raw_knack (no dbt needed)."""
    text = staging_sql.problems_sql(read_metadata(database_url), tolerance)
    text = re.sub(r"\{\{ source\('raw_knack', '([^']+)'\) \}\}", r'raw_knack."\1"', text)
    text = text.replace("%", "%%")  # psycopg2 formats the query
    return [tuple(r) for r in raw.query(f"select object_key, knack_id, field_key, reason from ({text}) p")]


def _pending_packages(settings) -> list[Path]:
    return [p for p in (settings.home / "dlt" / "pipelines").glob("*/load/normalized/*") if p.is_dir()]


class _KilledAtTheFailure(BaseException):
    """Stands in for a process killed (or an older version stopping) right after PostgreSQL refused a load."""


def _refuse_nul_then_die(monkeypatch) -> None:
    """Let NUL characters through to PostgreSQL (which refuses them) and die before the package is set aside:
    what older versions left behind."""
    monkeypatch.setattr(scan, "record_json", lambda record: (record, json.dumps(record)))

    def die(self) -> None:
        raise _KilledAtTheFailure()

    monkeypatch.setattr(pipeline._Run, "_set_aside", die)


# ---- C: NUL characters ----

def test_a_nul_character_in_a_text_value_is_removed_stored_and_listed_as_a_parse_problem(
        demo_app, serve, ingest, raw, database_url) -> None:
    sim = serve(demo_app)
    ingest(sim)
    record_id = _put_nul_in_a_name(demo_app)
    result = ingest(sim)
    assert result.object(RESULTS).updated >= 1
    stored = raw.rows(RESULTS)[record_id]["record"]
    assert "\x00" not in json.dumps(stored) and "\\u0000" not in json.dumps(stored)
    assert stored[f"{NAME}_raw"]["first"].endswith("x") and stored["_knackhouse"] == {"nul_removed": [NAME]}
    _assert_raw_is_the_truth(demo_app, raw)
    problems = [p for p in _parse_problems(database_url, raw) if p[1] == record_id]
    assert [(p[0], p[2]) for p in problems] == [(RESULTS, NAME)]
    assert "NUL" in problems[0][3]


def test_a_load_postgresql_refuses_moves_no_cursor_and_the_next_run_reads_its_records_again(
        demo_app, serve, ingest, raw, database_url, settings_of, monkeypatch) -> None:
    sim = serve(demo_app)
    first = ingest(sim)
    committed = {o.object_key: o.cursor_after for o in first.objects}
    demo_app.advance(days=1)
    record_id = _put_nul_in_a_name(demo_app)
    monkeypatch.setattr(scan, "record_json", lambda record: (record, json.dumps(record)))
    with pytest.raises(RecordsRefused, match="set aside") as refused:
        ingest(sim)
    assert refused.value.exit_code == 3 and "table vespa_results, row" in str(refused.value)
    assert "mailto" not in str(refused.value)  # names the table and row, never the record's content
    stored = committed_state(database_url)["cursors"]
    assert {k: datetime.fromisoformat(v) for k, v in stored.items()} == committed
    assert not _pending_packages(settings_of(sim))
    monkeypatch.undo()
    again = ingest(sim)
    assert {o.object_key: o.cursor_before for o in again.objects} == committed
    _assert_raw_is_the_truth(demo_app, raw)
    assert record_id in raw.rows(RESULTS)


def test_a_refused_package_left_pending_is_set_aside_and_never_blocks_later_runs(
        demo_app, serve, ingest, raw, settings_of, monkeypatch) -> None:
    sim = serve(demo_app)
    ingest(sim)
    demo_app.advance(days=1)
    _put_nul_in_a_name(demo_app)
    _refuse_nul_then_die(monkeypatch)
    with pytest.raises(_KilledAtTheFailure):
        ingest(sim)
    assert _pending_packages(settings_of(sim)), "the refused package should be left pending"
    monkeypatch.undo()
    ingest(sim)
    settings = settings_of(sim)
    assert not _pending_packages(settings)
    assert list((settings.home / "dlt" / "set_aside").iterdir()), "the refused package is kept for inspection"
    _assert_raw_is_the_truth(demo_app, raw)


def test_a_cursor_is_only_ever_the_committed_one_after_a_failed_package_is_removed(
        demo_app, serve, ingest, raw, settings_of, monkeypatch) -> None:
    sim = serve(demo_app)
    ingest(sim)
    demo_app.advance(days=1)
    record_id = _put_nul_in_a_name(demo_app)
    _refuse_nul_then_die(monkeypatch)
    with pytest.raises(_KilledAtTheFailure):
        ingest(sim)
    monkeypatch.undo()
    for package in _pending_packages(settings_of(sim)):  # an operator deletes the package that kept failing
        shutil.rmtree(package)
    name = dict(demo_app.tables[RESULTS].value(record_id, NAME))
    name["first"] = name["first"].replace("\x00", "")  # and fixes the record in Knack
    demo_app.set_value(RESULTS, record_id, NAME, name)
    ingest(sim)
    _assert_raw_is_the_truth(demo_app, raw)


# ---- D: a "Date Modified" in the future ----

def test_a_modified_time_far_in_the_future_never_moves_the_cursor(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    ingest(sim)
    record_id = _latest_result(demo_app)
    demo_app.set_value(RESULTS, record_id, MODIFIED, FAR_FUTURE)
    result = ingest(sim)
    load = result.object(RESULTS)
    assert load.cursor_after is not None and load.cursor_after < datetime.now(UTC) + timedelta(hours=2)
    assert "future" in (load.note or "")
    assert raw.rows(RESULTS)[record_id]["_knack_modified_at"].year == 9999
    demo_app.advance(days=2)
    ingest(sim)
    _assert_raw_is_the_truth(demo_app, raw)


def test_a_modified_time_in_the_future_is_listed_as_a_parse_problem(demo_app, serve, ingest, raw,
                                                                   database_url) -> None:
    sim = serve(demo_app)
    record_id = _latest_result(demo_app)
    demo_app.set_value(RESULTS, record_id, MODIFIED, FAR_FUTURE)
    ingest(sim)
    problems = _parse_problems(database_url, raw)
    assert [(p[0], p[1], p[2]) for p in problems] == [(RESULTS, record_id, MODIFIED)]
    assert "not used for the incremental cursor" in problems[0][3]


def test_a_stored_cursor_in_the_future_is_not_trusted(demo_app, serve, ingest, raw) -> None:
    sim = serve(demo_app)
    record_id = _latest_result(demo_app)
    demo_app.set_value(RESULTS, record_id, MODIFIED, datetime(2999, 1, 1))
    # a warehouse whose cursor an older version moved to 2999 (a tolerance of 1,900 years lets it through)
    ingest(sim, settings={"future_tolerance_minutes": 10**9})
    demo_app.advance(days=1)
    result = ingest(sim)
    assert result.object(RESULTS).mode == "full" and "in the future" in result.object(RESULTS).note
    assert result.object(RESULTS).cursor_after.year < 2999
    _assert_raw_is_the_truth(demo_app, raw)
