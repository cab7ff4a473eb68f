"""KNACKHOUSE_HOME over months of daily runs: its size after each simulated day, with disk retention on.

Runs the real `daily-sync` flow (under a local Prefect test API, whose database lives outside the home) over the
demo app from the simulator: the initial load, then --repeat ordinary days. Between two runs every file under the
home is made one day older (its modification time moved back 24 h), as a night between two real runs would, so
`KNACKHOUSE_RETENTION_DAYS` (default 14) prunes what it would in production. Prints the home's size and its
loaded dlt packages per day, then min/median/max of the size after the retention window.
Goal (issue 26): flat after the retention window and under 500 MB at scale 1.

    KNACKHOUSE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/bench_long_run.py --scale 1 --repeat 60
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from contextlib import closing
from pathlib import Path

from bench_args import parse_bench_args, print_spread

from knackhouse.settings import Settings, configure_environment

DAY = 86400.0


def _size_mb(home: Path) -> float:
    return sum(p.lstat().st_size for p in home.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def _one_night(home: Path) -> None:
    """Every file and folder under the home one day older."""
    for path in home.rglob("*"):
        info = path.lstat()
        os.utime(path, (info.st_atime - DAY, info.st_mtime - DAY), follow_symlinks=False)


def main() -> int:
    args, server = parse_bench_args(__doc__, repeat=60)
    if not server:
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        settings = Settings.from_env({**os.environ, "KNACKHOUSE_HOME": str(home)})
        configure_environment(settings)
        from dataclasses import replace

        from prefect.testing.utilities import prefect_test_harness

        from flows.daily_sync import RunOptions, daily_sync, without_secret
        from knackhouse import warehouse
        from simulator import DemoApp, SimulatorServer

        name = f"bench_long_run_{uuid.uuid4().hex[:8]}"
        with closing(warehouse.connect(server, autocommit=True)) as admin, admin.cursor() as cur:
            cur.execute(f'create database "{name}"')
        url = warehouse.with_database(server, name)
        sizes: list[float] = []
        try:
            app = DemoApp(scale=args.scale, seed=args.seed)
            with prefect_test_harness(server_startup_timeout=120), SimulatorServer(app) as sim:
                run_settings = without_secret(replace(settings, database_url=url, knack_app_id=sim.app_id,
                                                      knack_api_key=sim.api_key, knack_api_url=sim.base_url))
                for day in range(args.repeat + 1):
                    if day:
                        _one_night(home)
                        app.advance(1)
                    started = time.monotonic()
                    outcome = daily_sync(settings=run_settings, database_url=url, options=RunOptions(as_of=app.today))
                    size = _size_mb(home)
                    packages = len(list(home.glob("dlt/pipelines/*/load/loaded/*")))
                    print(f"day {day:3d} {app.today} exit {outcome.exit_code}: {time.monotonic() - started:6.1f} s, "
                          f"home {size:8.1f} MB, loaded packages {packages}", flush=True)
                    if day > settings.retention_days:
                        sizes.append(size)
        finally:
            with closing(warehouse.connect(server, autocommit=True)) as admin, admin.cursor() as cur:
                cur.execute(f'drop database if exists "{name}" with (force)')
    print_spread(f"home after the {settings.retention_days:g}-day window (scale {args.scale})", sizes,
                 unit="MB", fmt="{:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
