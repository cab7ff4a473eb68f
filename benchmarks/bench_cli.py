"""How fast the command line answers: `knackhouse --help`, and `knackhouse run` to a configuration error.

Goals (issue 27): --help under 0.5 s; every configuration error within 3 s, before any record is read.
Each case is a fresh `python -m knackhouse.cli` process, as a user runs it; min / median / max over --repeat.

    KNACKHOUSE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/bench_cli.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench_args import print_spread

from knackhouse import warehouse
from simulator import DemoApp, SimulatorServer

COMMAND = [sys.executable, "-m", "knackhouse.cli"]


def _timed(args: list[str], env: dict[str, str], expect: int) -> float:
    started = time.monotonic()
    done = subprocess.run([*COMMAND, *args], env=env, capture_output=True, text=True, timeout=120)
    seconds = time.monotonic() - started
    if done.returncode != expect or "Traceback" in done.stderr:
        raise SystemExit(f"knackhouse {' '.join(args)}: exit {done.returncode}, expected {expect}: "
                         f"{done.stderr.strip()[-500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10, help="runs measured per case (min/median/max)")
    args = parser.parse_args()
    server = os.environ.get("KNACKHOUSE_DATABASE_URL")
    if not server:
        raise SystemExit("set KNACKHOUSE_DATABASE_URL to a PostgreSQL server (a database is created there)")
    name = f"kh_bench_cli_{uuid.uuid4().hex[:8]}"
    database_url = warehouse.create_database(server, name)
    try:
        with tempfile.TemporaryDirectory() as tmp, SimulatorServer(DemoApp(scale=0.005, seed=5)) as sim:
            folder = Path(tmp)
            unknown_key = folder / "unknown_key.yml"
            unknown_key.write_text("objects:\n  object_99: {modified_field: field_1}\n")
            base = {"PATH": os.environ.get("PATH", ""), "KNACKHOUSE_HOME": str(folder / "home")}
            knack = {**base, "KNACK_APP_ID": sim.app_id, "KNACK_API_KEY": sim.api_key, "KNACK_API_URL": sim.base_url,
                     "KNACKHOUSE_DATABASE_URL": database_url}
            cases = [
                ("--help", ["--help"], base, 0),
                ("run: missing mapping file", ["run"], {**knack, "KNACKHOUSE_APP_CONFIG": str(folder / "none.yml")}, 2),
                ("run: --reopen-year 2025 (wrong format)", ["run", "--reopen-year", "2025"], knack, 2),
                ("run: database unreachable", ["run"],
                 {**knack, "KNACKHOUSE_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/postgres"}, 2),
                ("run: unknown object key (1 metadata request)", ["run"],
                 {**knack, "KNACKHOUSE_APP_CONFIG": str(unknown_key)}, 2),
            ]
            for label, argv, env, expect in cases:
                _timed(argv, env, expect)  # warm the file cache once
                print_spread(label, [_timed(argv, env, expect) for _ in range(args.repeat)])
    finally:
        warehouse.drop_database(server, name)


if __name__ == "__main__":
    main()
