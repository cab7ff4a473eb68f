"""Ingest benchmark against the simulator (run in its own process) and a real PostgreSQL.

Prints min/median/max over --repeat runs of:
- requests per run against the lower bound (one metadata call + ceil(records / 1000) per object, at least one),
  for a full load and for an incremental day;
- a full load's time with the simulator's 10 requests/second limit on, against 1.15 × N / 10,000 s;
- records per second into PostgreSQL with the limit off (the simulator's render cache warm after the
  first run, which is reported apart), and the loader's peak memory;
- an incremental day (~1% of records changed) against the full load, in requests and time.

    KNACKHOUSE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/bench_ingest.py --scale 1 --repeat 3
"""

from __future__ import annotations

import math
import multiprocessing
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_args import parse_bench_args, print_spread

from knackhouse.settings import Settings, configure_environment


def _simulator(conn: Any, scale: float, seed: int) -> None:
    """The simulator process: generates the demo app, serves it, and obeys commands from the pipe."""
    from simulator import DemoApp, Faults, SimulatorServer

    app = DemoApp.generate(scale=scale, seed=seed)
    with SimulatorServer(app, seed=seed) as sim:
        conn.send({"base_url": sim.base_url, "app_id": sim.app_id, "api_key": sim.api_key,
                   "counts": {k: len(t.rows) for k, t in app.tables.items()}})
        while True:
            command, argument = conn.recv()
            if command == "stop":
                conn.send(None)
                return
            if command == "faults":
                sim.faults = Faults(**argument)
                conn.send(None)
            elif command == "advance":
                before = app.now
                app.advance(days=argument)
                changed = {}
                for key, table in app.tables.items():
                    modified = app.modified_fields.get(key)
                    position = table.index[modified]
                    changed[key] = sum(1 for row in table.rows.values()
                                       if row[position] is not None and row[position] >= before)
                conn.send({"changed": changed, "counts": {k: len(t.rows) for k, t in app.tables.items()}})
            elif command == "requests":
                conn.send(sim.request_count)


class Simulator:
    """A handle on the simulator process."""

    def __init__(self, scale: float, seed: int) -> None:
        parent, child = multiprocessing.Pipe()
        self.conn = parent
        self.process = multiprocessing.get_context("fork").Process(target=_simulator, args=(child, scale, seed),
                                                                    daemon=True)
        self.process.start()
        self.info = parent.recv()

    def call(self, command: str, argument: Any = None) -> Any:
        self.conn.send((command, argument))
        return self.conn.recv()

    def stop(self) -> None:
        self.call("stop")
        self.process.join(timeout=10)


def _database(server_url: str) -> str:
    from knackhouse.warehouse import create_database

    return create_database(server_url, f"kh_bench_{uuid.uuid4().hex[:10]}")


def _drop(server_url: str, url: str) -> None:
    from knackhouse.warehouse import ConnectionParts, drop_database

    drop_database(server_url, ConnectionParts.from_url(url).dbname)


def _lower_bound(records: dict[str, int]) -> int:
    """One metadata call plus ceil(records / 1000) pages per object, and at least one page per object: Knack has
    no cheaper way to learn that an object has no changed records than to ask for its first page."""
    return 1 + sum(max(1, math.ceil(n / 1000)) for n in records.values())


def main() -> int:
    args, server_url = parse_bench_args(__doc__, repeat=3)
    if not server_url:
        return 2
    home = Path(tempfile.mkdtemp(prefix="kh-bench-ingest-"))
    configure_environment(Settings(home=home))
    import logging

    logging.getLogger("dlt").setLevel(logging.ERROR)
    from ingest.pipeline import run_ingest

    print(f"generating the demo app at scale {args.scale} ...", flush=True)
    sim = Simulator(args.scale, args.seed)
    counts: dict[str, int] = sim.info["counts"]
    total = sum(counts.values())
    print(f"{total:,} records: {counts}")

    def settings(tag: str) -> Settings:
        return Settings(home=home / tag, knack_app_id=sim.info["app_id"], knack_api_key=sim.info["api_key"],
                        knack_api_url=sim.info["base_url"])

    def timed(run: Callable[[], Any]) -> tuple[Any, float]:
        started = time.perf_counter()
        result = run()
        return result, time.perf_counter() - started

    try:
        # ---- limit off: loader throughput ----
        sim.call("faults", {})
        rates, cold = [], None
        full_requests = []
        for attempt in range(args.repeat + 1):
            url = _database(server_url)
            try:
                result, seconds = timed(lambda: run_ingest(settings(f"off{attempt}"), url,  # noqa: B023
                                                           progress=False, requests_per_second=None))
            finally:
                _drop(server_url, url)
            records = sum(o.records_fetched for o in result.objects)
            full_requests.append(result.api_requests)
            if attempt == 0:
                cold = records / seconds
            else:
                rates.append(records / seconds)
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # ---- limit on: a full load is bound by the API ----
        sim.call("faults", {"rate_limit": True})
        limited, ratio = [], []
        target = 1.15 * total / 10_000
        for attempt in range(args.repeat):
            url = _database(server_url)
            try:
                result, seconds = timed(lambda: run_ingest(settings(f"on{attempt}"), url, progress=False))  # noqa: B023
            finally:
                _drop(server_url, url)
            limited.append(seconds)
            ratio.append(seconds / (total / 10_000))
        # ---- an incremental day, limit on ----
        url = _database(server_url)
        day_requests, day_seconds, day_bounds, changed_share = [], [], [], []
        try:
            base, full_seconds = timed(lambda: run_ingest(settings("day"), url, progress=False))
            for _ in range(args.repeat):
                change = sim.call("advance", 1)
                changed_share.append(100 * sum(change["changed"].values()) / sum(change["counts"].values()))
                result, seconds = timed(lambda: run_ingest(settings("day"), url, progress=False))
                day_requests.append(result.api_requests)
                day_seconds.append(seconds)
                day_bounds.append(_lower_bound(change["changed"]))
        finally:
            _drop(server_url, url)

        print()
        lower = _lower_bound(counts)
        print_spread("full load: requests per run", [float(r) for r in full_requests], f"(lower bound {lower})",
                     "{:.0f}")
        print_spread("incremental day: records changed", changed_share, "% of all records")
        print_spread("incremental day: requests per run", [float(r) for r in day_requests],
                f"(lower bounds {min(day_bounds)}..{max(day_bounds)})", "{:.0f}")
        print_spread("incremental day: requests / lower bound", [r / b for r, b in zip(day_requests, day_bounds,
                                                                                   strict=True)], "x")
        print_spread("full load, 10 req/s limit on: seconds", limited, f"(target {target:.1f} s = 1.15 × N/10,000)")
        print_spread("full load, 10 req/s limit on: seconds / (N/10,000)", ratio, "(target ≤ 1.15)")
        print(f"{'limit off, cold simulator cache: records/s':<58} {cold:,.0f}")
        print_spread("limit off, warm simulator cache: records/s", rates, "records/s", "{:,.0f}")
        print(f"{'peak memory of the loader process':<58} {peak_mib:,.0f} MiB")
        print_spread("incremental day: requests vs full load", [100 * r / base.api_requests for r in day_requests],
                     "%")
        print_spread("incremental day: time vs full load (limit on)", [100 * s / full_seconds for s in day_seconds],
                     "%")
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
