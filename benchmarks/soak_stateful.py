"""Soak the warehouse state machine (tests/stateful/machine.py): random Knack changes and runs, every invariant of
tests/invariants.py after each step, the daily build compared with a full refresh after every step.

    PYTHONPATH=. KNACKHOUSE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python benchmarks/soak_stateful.py --steps 200 [--seed N] [--examples 4] [--scale 0.01]

The seed is random unless given, and printed first: `--seed` replays a run. A failure is shrunk by Hypothesis to
a minimal sequence of steps, printed as code to paste into a regression test. At the end it prints the steps run
and min/median/max seconds per step.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.stateful import run_state_machine_as_test

from knackhouse import warehouse
from knackhouse.settings import Settings, configure_environment


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="steps in all (across examples)")
    parser.add_argument("--examples", type=int, default=4, help="sequences; each gets steps/examples steps")
    parser.add_argument("--seed", type=int, default=None, help="replay a seed (default: random, printed)")
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--no-shrink", action="store_true", help="report the failing sequence as found")
    parser.add_argument("--full-refresh-every-step", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"soak_stateful: seed {seed} (replay with --seed {seed}), {args.steps} steps in {args.examples} sequences",
          flush=True)

    base = Settings.from_env()
    configure_environment(base)
    server_url = warehouse.resolve_url(base)
    from prefect.testing.utilities import prefect_test_harness

    from tests.stateful.machine import Context, WarehouseMachine, drop_database, make_template

    step_seconds: list[float] = []
    last = [time.monotonic()]

    def log(message: str) -> None:
        now = time.monotonic()
        step_seconds.append(now - last[0])
        last[0] = now
        print(f"  {message}", flush=True)

    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([] if args.no_shrink else [Phase.shrink])
    started = time.monotonic()
    failed = False
    with tempfile.TemporaryDirectory(prefix="soak-stateful-") as work, prefect_test_harness(server_startup_timeout=120):
        context = Context(server_url=server_url, workdir=Path(work), scale=args.scale, seed=seed % 1000,
                          full_refresh_check_every_step=args.full_refresh_every_step, log=log)
        context.template = make_template(context)
        WarehouseMachine.context = context
        try:
            run_state_machine_as_test(hypothesis_seed(seed)(WarehouseMachine), settings=settings(
                max_examples=args.examples, stateful_step_count=max(1, args.steps // args.examples),
                deadline=None, database=None, phases=phases, suppress_health_check=list(HealthCheck)))
        except Exception as error:  # noqa: BLE001 - the soak reports any failure with its seed
            failed = True
            print(f"soak_stateful: FAILED (seed {seed}): {error}", flush=True)
        finally:
            drop_database(server_url, context.template)
    print(f"soak_stateful: seed {seed}, {len(step_seconds)} steps, {time.monotonic() - started:.0f} s; "
          + (f"seconds per step min {min(step_seconds):.1f} / median {statistics.median(step_seconds):.1f} / "
             f"max {max(step_seconds):.1f}" if step_seconds else "no steps"), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
