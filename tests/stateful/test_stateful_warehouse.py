"""Correct after any sequence of days: the state machine of tests/stateful/machine.py, small, derandomized and
bounded, with every invariant of tests/invariants.py checked after each step (soak: benchmarks/soak_stateful.py)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.stateful.machine import Context, WarehouseMachine, drop_database, make_template

SEED = 20261205


def test_any_sequence_of_knack_changes_and_runs_keeps_the_invariants(server_url: str, prefect_harness: None,
                                                                     tmp_path: Path) -> None:
    context = Context(server_url=server_url, workdir=tmp_path, log=lambda message: print(message, flush=True))
    context.template = make_template(context)
    WarehouseMachine.context = context
    try:
        # Hypothesis's first sequence is its simplest (the same rule over and over): the second, drawn from a fixed
        # seed, is the one that exercises the warehouse. The suite's budget: two sequences of at most six steps,
        # no shrinking; benchmarks/soak_stateful.py runs long random sequences and shrinks their failures.
        run_state_machine_as_test(seed(SEED)(WarehouseMachine), settings=settings(
            max_examples=2, stateful_step_count=6, deadline=None, database=None, phases=[Phase.generate],
            suppress_health_check=list(HealthCheck)))
    finally:
        drop_database(server_url, context.template)
