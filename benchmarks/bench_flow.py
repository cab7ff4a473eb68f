"""The daily flow's own overhead: a run's wall time minus its ingest, dbt and guard steps.

Runs the real `daily-sync` flow (under a local Prefect test API) over the demo app from the simulator: the
initial load, then --repeat ordinary days. For each day, the overhead is everything the flow does besides
ingest, dbt (build, docs, publish) and guards: the run lock, freshness check, audit.runs, rows per mart,
quarantine counts, the report files, the Prefect artifact and Prefect's own task bookkeeping.
Goal (issue 8): under 10 s a run. Prints min/median/max.

    KNACKHOUSE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/bench_flow.py --scale 0.05 --repeat 5
"""

from __future__ import annotations

import tempfile
import time
import uuid
from contextlib import closing
from pathlib import Path

from bench_args import parse_bench_args, print_spread

from knackhouse.settings import Settings, configure_environment

WORK_STEPS = ("ingest", "dbt build", "dbt docs", "guards", "publish")


def main() -> int:
    args, server = parse_bench_args(__doc__, repeat=5)
    if not server:
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        configure_environment(Settings(home=home))
        from prefect.testing.utilities import prefect_test_harness

        from flows.daily_sync import RunOptions, run_flow, without_secret
        from knackhouse import warehouse
        from simulator import DemoApp, SimulatorServer

        name = f"bench_flow_{uuid.uuid4().hex[:8]}"
        with closing(warehouse.connect(server, autocommit=True)) as admin, admin.cursor() as cur:
            cur.execute(f'create database "{name}"')
        url = warehouse.with_database(server, name)
        overheads: list[float] = []
        totals: list[float] = []
        try:
            app = DemoApp(scale=args.scale, seed=args.seed)
            with prefect_test_harness(server_startup_timeout=60), SimulatorServer(app) as sim:
                settings = without_secret(Settings(home=home, database_url=url, knack_app_id=sim.app_id,
                                                   knack_api_key=sim.api_key, knack_api_url=sim.base_url))
                for day in range(args.repeat + 1):
                    if day:
                        app.advance(1)
                    started = time.monotonic()
                    outcome = run_flow(settings, url, RunOptions(as_of=app.today))
                    wall = time.monotonic() - started
                    steps = outcome.summary["step_seconds"]
                    work = sum(steps.get(step, 0.0) for step in WORK_STEPS)
                    print(f"{app.today} exit {outcome.exit_code}: wall {wall:.2f} s, ingest+dbt+guards {work:.2f} s, "
                          f"overhead {wall - work:.2f} s", flush=True)
                    if day:  # the initial load is reported, not counted: the days are what runs every night
                        overheads.append(wall - work)
                        totals.append(wall)
        finally:
            with closing(warehouse.connect(server, autocommit=True)) as admin, admin.cursor() as cur:
                cur.execute(f'drop database if exists "{name}" with (force)')
    print_spread(f"daily run, wall (scale {args.scale})", totals)
    print_spread("flow overhead per run (goal < 10 s)", overheads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
