"""Marts and guards benchmark: the demo app loaded by the real ingest, then dbt build and the guards timed.

Day 0 is the initial load; each further day (--repeat in all) is an ordinary simulated day (about 1% of
records changed). Prints min/median/max of:
- the whole `dbt build` (staging, intermediate, marts_candidate, snapshots and every test): the first build,
  then a full refresh at the end (goal, issue 6: under 3 minutes at scale 10);
- the daily `dbt build` after a day of change (goal: under 20% of the full build; closed years are skipped
  by the partitioned materialization, never rescanned);
- `run_guards` (metrics, bounds, GX checkpoint with Data Docs, results, plot) and the metric queries alone
  (goal, issue 7: under 60 s at scale 10).

    KNACKHOUSE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/bench_marts_and_guards.py --scale 1 --repeat 5
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from contextlib import closing
from dataclasses import replace
from pathlib import Path

from bench_args import parse_bench_args, print_spread

from knackhouse.settings import Settings, configure_environment


def main() -> int:
    args, server = parse_bench_args(__doc__, repeat=5)
    if not server:
        return 2
    home = Path(tempfile.mkdtemp(prefix="bench-guards-"))
    settings = Settings(home=home)
    configure_environment(settings)

    from expectations.config import load_guard_config
    from expectations.guards import run_guards
    from expectations.metrics import collect
    from ingest.pipeline import run_ingest
    from knackhouse.app_config import load_app_config
    from knackhouse.dbt import DbtProject
    from knackhouse.warehouse import connect, with_database
    from simulator import DemoApp, SimulatorServer

    name = f"bench_guards_{uuid.uuid4().hex[:8]}"
    with closing(connect(server, autocommit=True)) as admin, admin.cursor() as cur:
        cur.execute(f'create database "{name}"')
    url = with_database(server, name)
    mapping = load_app_config(None)
    try:
        print(f"generating the demo app at scale {args.scale} ...", flush=True)
        app = DemoApp(scale=args.scale, seed=args.seed)
        guard_seconds: list[float] = []
        metric_seconds: list[float] = []
        full_builds: list[float] = []
        daily_builds: list[float] = []
        with SimulatorServer(app) as sim:
            run_settings = replace(settings, knack_app_id=sim.app_id, knack_api_key=sim.api_key,
                                   knack_api_url=sim.base_url)
            project = DbtProject(run_settings, url, mapping=mapping)
            for day in range(args.repeat):
                if day:
                    app.advance(1)
                loaded = run_ingest(run_settings, url, progress=False, requests_per_second=None)
                if day == 0:
                    project.prepare()
                    records = sum(o.records_fetched for o in loaded.objects)
                    print(f"{records:,} records loaded", flush=True)
                started = time.perf_counter()
                built = project.build(vars={"as_of_date": app.today.isoformat(), "reopen_years": []})
                seconds = time.perf_counter() - started
                print(f"day {day}: dbt build {seconds:.1f} s, success {built.success}", flush=True)
                (daily_builds if day else full_builds).append(seconds)
                with closing(connect(url)) as conn:
                    started = time.perf_counter()
                    collect(conn, run_id=f"probe-{day}", as_of=app.today, mapping=mapping, database_url=url,
                            ingest_result=loaded)
                    metric_seconds.append(time.perf_counter() - started)
                    with conn.cursor() as cur:
                        cur.execute("delete from audit.table_metrics where run_id = %s", (f"probe-{day}",))
                    conn.commit()
                started = time.perf_counter()
                report = run_guards(run_settings, url, run_id=f"day-{day}", as_of=app.today, ingest_result=loaded,
                                    mapping=mapping, config=load_guard_config())
                guard_seconds.append(time.perf_counter() - started)
                print(f"day {day}: guards {guard_seconds[-1]:.1f} s, {len(report.results)} checks, "
                      f"passed {report.passed}", flush=True)
            started = time.perf_counter()
            built = project.build(full_refresh=True, vars={"as_of_date": app.today.isoformat(), "reopen_years": []})
            full_builds.append(time.perf_counter() - started)
            print(f"full refresh: dbt build {full_builds[-1]:.1f} s, success {built.success}", flush=True)
        print()
        print_spread(f"full dbt build (scale {args.scale:g})", full_builds)
        if daily_builds:
            print_spread(f"daily dbt build after ~1% change (scale {args.scale:g})", daily_builds)
            share = statistics.median(daily_builds) / statistics.median(full_builds)
            print(f"{'daily build / full build (median)':<46} {share:.0%}")
        print_spread(f"metric queries (scale {args.scale:g})", metric_seconds)
        print_spread(f"whole guard step (scale {args.scale:g})", guard_seconds)
    finally:
        with closing(connect(server, autocommit=True)) as admin, admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
