"""Simulator speed and size: records served per second, scale-1 generation time, peak memory at scale 10.

Usage: python benchmarks/bench_simulator.py [--runs 5] [--skip-scale-10]

Targets (issue 3): at least 20,000 records/s of 1000-record pages with the rate limit off; the
scale-1 app generated in under 30 s; scale 10 under 4 GiB. Serving is measured for the loader's
incremental read (filter "is after" on Date Modified, sorted by it, 1000 a page) over the results
object: the first scan renders every record (cold), later scans reuse the rendered bytes (warm).
"""

from __future__ import annotations

import argparse
import http.client
import json
import resource
import subprocess
import sys
import time
from urllib.parse import quote, urlsplit

from bench_args import print_spread

from simulator.demo import DemoApp
from simulator.knack_values import date_time_json
from simulator.server import SimulatorServer

RESULTS = "object_4"
FILTER = quote(json.dumps([{"field": "field_31", "operator": "is after", "value": "01/01/2020 00:00"}]))


def scan(sim: SimulatorServer) -> tuple[int, float]:
    """Page through the results object as the loader does; (records, seconds)."""
    url = urlsplit(sim.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    headers = {"X-Knack-Application-Id": sim.app_id, "X-Knack-REST-API-Key": sim.api_key}
    records, page = 0, 1
    started = time.perf_counter()
    while True:
        connection.request("GET", f"{url.path}/objects/{RESULTS}/records?page={page}&rows_per_page=1000"
                                  f"&sort_field=field_31&sort_order=asc&filters={FILTER}", headers=headers)
        body = connection.getresponse().read()
        count = body.count(b'"field_31_raw"')
        if count == 0:
            break
        records += count
        page += 1
    elapsed = time.perf_counter() - started
    connection.close()
    return records, elapsed


def bench_serving(runs: int) -> None:
    app = DemoApp.generate(scale=1, seed=1)
    table = app.tables[RESULTS]
    with SimulatorServer(app, seed=1) as sim:
        cold, warm = [], []
        for _ in range(runs):
            table.forget_rendered()
            table._queries.clear()
            date_time_json.cache_clear()
            records, elapsed = scan(sim)
            cold.append(records / elapsed)
            records, elapsed = scan(sim)
            warm.append(records / elapsed)
        print(f"serving {records:,} results, 1000-record pages, rate limit off:")
        print_spread("  first scan (every record rendered)", cold, "records/s")
        print_spread("  repeated scan (rendered bytes reused)", warm, "records/s")


def bench_generation(runs: int) -> None:
    seconds = []
    for seed in range(runs):
        started = time.perf_counter()
        app = DemoApp.generate(scale=1, seed=seed)
        seconds.append(time.perf_counter() - started)
    counts = {t.name: len(t.rows) for t in app.tables.values()}
    print_spread("generation at scale 1", seconds, "s")
    print(f"  scale-1 app: {counts}")


def scale_10_child() -> None:
    started = time.perf_counter()
    app = DemoApp.generate(scale=10, seed=1)
    generated = time.perf_counter() - started
    with SimulatorServer(app, seed=1) as sim:
        records, elapsed = scan(sim)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    counts = {t.name: len(t.rows) for t in app.tables.values()}
    print(json.dumps({"generated_s": generated, "peak_gib": peak, "counts": counts,
                      "scan_records": records, "scan_rate": records / elapsed}))


def bench_scale_10() -> None:
    out = subprocess.run([sys.executable, __file__, "--scale-10-child"], capture_output=True, text=True,
                         check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    print(f"scale 10: peak memory {result['peak_gib']:.2f} GiB (ru_maxrss, generation plus a full cold scan "
          f"of the results); generated in {result['generated_s']:.0f} s; {result['counts']}; "
          f"cold scan {result['scan_rate']:,.0f} records/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-scale-10", action="store_true")
    parser.add_argument("--scale-10-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_10_child:
        scale_10_child()
        return
    bench_serving(args.runs)
    bench_generation(max(3, args.runs // 2))
    if not args.skip_scale_10:
        bench_scale_10()


if __name__ == "__main__":
    main()
