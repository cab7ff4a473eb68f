"""A sequence the state machine found: with the deletion sweep on, a first load, two year boundaries and two
daily runs, where the second daily run (Knack unchanged) must leave the marts exactly as the first published
them. Replayed step by step through the machine (not drawn by Hypothesis) so it runs every time.

The warehouse is a copy of the template under another database name, so dlt's state (the cursors) is not
found and the first daily run reads every object whole. A whole read retires nothing, and the sweep used to
skip such objects, so the students deleted during the skipped months stayed live until the second run's
sweep retired them: the unchanged rerun changed `dim_students` and `bridge_staff_students`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.stateful.machine import Context, WarehouseMachine, drop_database, make_template


def test_an_unchanged_daily_rerun_after_two_year_boundaries_keeps_the_marts_with_the_sweep_on(
        server_url: str, prefect_harness: None, tmp_path: Path) -> None:
    context = Context(server_url=server_url, workdir=tmp_path, log=lambda message: print(message, flush=True))
    context.template = make_template(context)
    WarehouseMachine.context = context
    try:
        machine = WarehouseMachine()
        machine.pipeline.settings = replace(machine.pipeline.settings, deletion_sweep=True)
        try:
            machine.first_load()
            machine.advance_across_a_year_boundary()
            machine.advance_across_a_year_boundary()
            machine.daily()
            machine.daily()  # raises AssertionError "an unchanged rerun changed marts.<table>" on a difference
        finally:
            machine.failed = True  # no teardown comparison with a full refresh: this test is the rerun alone
            machine.teardown()
    finally:
        drop_database(server_url, context.template)
