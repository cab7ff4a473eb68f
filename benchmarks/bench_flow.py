"""Flow overhead outside ingest/dbt/guards: lock, audit.runs, freshness, report, growth plot.

Usage: KNACKHOUSE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python benchmarks/bench_flow.py
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flows import audit, report
from flows.lock import run_lock
from knackhouse.warehouse import connect, with_database


def one_run(url: str, reports: Path, n: int) -> float:
    start = time.monotonic()
    run_id = f"bench-{n}"
    with run_lock(url):
        now = datetime.now(UTC)
        audit.stale_by(url, now, timedelta(hours=36))
        audit.record_start(url, run_id, now, dry_run=False)
        summary = {"run_id": run_id, "status": "success", "api_requests": 10,
                   "records_per_object": {f"object_{i}": {"inserted": i} for i in range(8)},
                   "rows_per_mart": {"dim_students": 1000 + n}}
        audit.record_finish(url, run_id, datetime.now(UTC), summary)
        report.growth_plot(url, reports / f"{run_id}.png")
        report.write(reports, summary, ["secret"])
    return time.monotonic() - start


def main() -> None:
    server = os.environ.get("KNACKHOUSE_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"bench_flow_{uuid.uuid4().hex[:8]}"
    admin = connect(server, autocommit=True)
    admin.cursor().execute(f"create database {name}")
    try:
        url = with_database(server, name)
        with tempfile.TemporaryDirectory() as tmp:
            times = [one_run(url, Path(tmp), n) for n in range(5)]
        print(f"flow overhead per run: min {min(times):.2f} s, median {statistics.median(times):.2f} s, "
              f"max {max(times):.2f} s")
    finally:
        admin.cursor().execute(f"drop database {name} with (force)")
        admin.close()


if __name__ == "__main__":
    main()
