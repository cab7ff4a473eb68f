"""Soak: `kill -9` at random points of `knackhouse run`, then prove the next clean run recovers everything.

Serves the demo app from the simulator, loads it once and runs one ordinary day as the reference (its step
timings say where ingest, dbt build, guards and publish fall in a run; each later clean run replaces it).
Then, per trial: the app moves one simulated day on, `knackhouse run` starts as a subprocess, and at a random
moment inside a step chosen at random (ingest, dbt build, guards, publish) the whole process group gets
SIGKILL. A clean `knackhouse run` follows, and the trial counts as

- recovered: the clean run exits 0, raw_knack equals the simulator's truth (every live record present, live and
  byte-for-byte what Knack serves; a record raw still holds live must be one Knack deleted since, which only a
  reconcile retires), and the marts are published (the run's audit row is a success and every table in
  `marts` has the rows of this run's `marts_candidate`);
- lost: the clean run exits 0 but raw or the marts are not right;
- wedged: the clean run fails or times out (someone would have to step in).

Prints its seed (replay a soak with --seed), one line per trial, then trials, recovered, lost and wedged
(goal: 0 lost, 0 wedged) and min/median/max of the recovery run's wall time. Bounded: each run has a timeout,
and no trial starts after --max-minutes.

    KNACKHOUSE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/soak_kill.py --trials 50 --scale 0.05
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench_args import print_spread

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from knackhouse.settings import Settings, configure_environment  # noqa: E402

STEPS = ("ingest", "dbt build", "guards", "publish")
FLOW_ORDER = ("ingest", "dbt build", "dbt docs", "guards", "publish")


@dataclass
class Run:
    exit_code: int | None   # None: killed or timed out
    seconds: float
    started_at: float        # time.time() when the subprocess was started
    report: dict[str, Any] | None = None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=50, help="kills (default 50)")
    parser.add_argument("--seed", type=int, default=None, help="where and when to kill (default: a random one)")
    parser.add_argument("--scale", type=float, default=0.05, help="demo app size (default 0.05)")
    parser.add_argument("--app-seed", type=int, default=7, help="the demo app's own seed")
    parser.add_argument("--run-timeout", type=float, default=900.0, help="seconds a clean run may take")
    parser.add_argument("--max-minutes", type=float, default=150.0, help="no trial starts after this long")
    return parser.parse_args()


class Soak:
    def __init__(self, args: argparse.Namespace, server: str, home: Path) -> None:
        self.args = args
        self.server = server
        self.home = home
        self.rng = random.Random(args.seed)
        self.database = f"soak_kill_{uuid.uuid4().hex[:8]}"

    # ---- runs ----
    def env(self, sim: Any, api_url: str) -> dict[str, str]:
        from knackhouse import warehouse

        env = {**os.environ, "PYTHONPATH": str(REPO), "KNACKHOUSE_HOME": str(self.home),
               "KNACKHOUSE_DATABASE_URL": warehouse.with_database(self.server, self.database),
               "KNACK_APP_ID": sim.app_id, "KNACK_API_KEY": sim.api_key, "KNACK_API_URL": sim.base_url,
               "PREFECT_API_URL": api_url, "PREFECT_LOGGING_LEVEL": "ERROR"}
        env.pop("KNACKHOUSE_APP_CONFIG", None)
        return env

    def run(self, env: dict[str, str], as_of: str, kill_after: float | None = None) -> Run:
        """`knackhouse run --as-of`; with kill_after, SIGKILL to its process group after that many seconds."""
        command = [sys.executable, "-m", "knackhouse.cli", "run", "--as-of", as_of]
        started_at, started = time.time(), time.monotonic()
        with tempfile.TemporaryFile() as out:
            child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            limit = kill_after if kill_after is not None else self.args.run_timeout
            try:
                child.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=30)
                return Run(None, time.monotonic() - started, started_at)
            finally:
                if child.poll() is None:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait(timeout=30)
            out.seek(0)
            text = out.read().decode(errors="replace")
        report = None
        for line in text.splitlines():
            if line.startswith("report: "):
                path = Path(line.removeprefix("report: ").strip()).with_suffix(".json")
                report = json.loads(path.read_text()) if path.exists() else None
        if child.returncode != 0 and kill_after is None:
            print("  clean run output (last lines):\n    " + "\n    ".join(text.splitlines()[-8:]), flush=True)
        return Run(child.returncode, time.monotonic() - started, started_at, report)

    # ---- checks ----
    def check(self, app: Any) -> list[str]:
        """What is wrong with raw_knack and marts against the simulator's truth (empty: all right)."""
        from knackhouse import warehouse

        problems: list[str] = []
        truth = app.truth()
        url = warehouse.with_database(self.server, self.database)
        with closing(warehouse.connect(url, autocommit=True)) as connection, connection.cursor() as cur:
            for object_key, ids in truth.live_ids.items():
                cur.execute("select table_name from raw_knack._knack_objects where object_key = %s", (object_key,))
                table = cur.fetchone()[0]
                cur.execute(f'select id, record, _deleted_at is not null from raw_knack."{table}"')
                rows = {rid: (record, retired) for rid, record, retired in cur.fetchall()}
                live = set(ids)
                missing = live - set(rows)
                retired = {rid for rid in live & set(rows) if rows[rid][1]}
                wrong = sum(1 for rid in live & set(rows)
                            if rows[rid][0] != json.loads(app.tables[object_key].render(rid)))
                extra = {rid for rid, (_, gone) in rows.items() if not gone and rid not in live}
                unexplained = extra - set(app.deleted.get(object_key, []))
                for count, what in ((len(missing), "missing"), (len(retired), "retired though live"),
                                    (wrong, "differing from Knack"), (len(unexplained), "unknown to Knack")):
                    if count:
                        problems.append(f"{object_key}: {count} records {what}")
            cur.execute("select status from audit.runs where not dry_run order by started_at desc limit 1")
            status = cur.fetchone()
            if not status or status[0] != "success":
                problems.append(f"last run's status is {status[0] if status else None}, not success")
            # plain tables are copied whole from this run's candidates; a partitioned fact keeps its frozen
            # years' partitions, which a build never rewrites, so it is only required to hold rows
            cur.execute("select c.relname, c.relkind = 'p' from pg_class c"
                        " join pg_namespace n on n.oid = c.relnamespace"
                        " where n.nspname = 'marts' and c.relkind in ('r', 'p') and not c.relispartition")
            marts = cur.fetchall()
            if not marts:
                problems.append("nothing is published in marts")
            for table, partitioned in marts:
                if partitioned:
                    cur.execute(f'select exists (select 1 from marts."{table}")')
                    if not cur.fetchone()[0]:
                        problems.append(f"marts.{table} is empty")
                    continue
                cur.execute("select to_regclass(%s) is not null", (f'marts_candidate."{table}"',))
                if not cur.fetchone()[0]:
                    continue
                cur.execute(f'select (select count(*) from marts."{table}"),'
                            f' (select count(*) from marts_candidate."{table}")')
                published, built = cur.fetchone()
                if published != built:
                    problems.append(f"marts.{table} has {published} rows, this run built {built}")
        return problems

    # ---- the soak ----
    def kill_point(self, reference: Run) -> tuple[str, float]:
        """(step aimed at, seconds after start): a uniform moment inside a step chosen at random."""
        report = reference.report or {}
        steps = report.get("step_seconds") or {}
        flow_start = datetime.fromisoformat(report["started_at"]).timestamp() - reference.started_at
        offset = max(flow_start, 0.0)
        windows: dict[str, tuple[float, float]] = {}
        for name in FLOW_ORDER:
            length = float(steps.get(name, 0.0))
            windows[name] = (offset, offset + length)
            offset += length
        step = self.rng.choice(STEPS)
        start, end = windows[step]
        return step, self.rng.uniform(start, max(end, start + 0.05))

    def soak(self) -> int:
        from prefect.settings import PREFECT_API_URL
        from prefect.testing.utilities import prefect_test_harness

        from knackhouse import warehouse
        from simulator import DemoApp, SimulatorServer

        args = self.args
        with closing(warehouse.connect(self.server, autocommit=True)) as admin, admin.cursor() as cur:
            cur.execute(f'create database "{self.database}"')
        deadline = time.monotonic() + args.max_minutes * 60
        recovered = lost = wedged = killed_before_end = 0
        recoveries: list[float] = []
        trials = 0
        try:
            app = DemoApp(scale=args.scale, seed=args.app_seed)
            with prefect_test_harness(server_startup_timeout=300), SimulatorServer(app) as sim:
                env = self.env(sim, str(PREFECT_API_URL.value()))
                first = self.run(env, app.today.isoformat())
                app.advance(1)
                reference = self.run(env, app.today.isoformat())
                if first.exit_code != 0 or reference.exit_code != 0 or reference.report is None:
                    print(f"the initial load or the reference day failed (exit {first.exit_code}, "
                          f"{reference.exit_code}): nothing to soak")
                    return 1
                steps = reference.report["step_seconds"]
                print(f"reference day: {reference.seconds:.1f} s ("
                      + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()) + ")", flush=True)
                consecutive_wedges = 0
                for trial in range(1, args.trials + 1):
                    if time.monotonic() > deadline:
                        print(f"stopped after {trials} trials: --max-minutes {args.max_minutes} reached")
                        break
                    trials = trial
                    app.advance(1)
                    step, after = self.kill_point(reference)
                    killed = self.run(env, app.today.isoformat(), kill_after=after)
                    was_killed = killed.exit_code is None
                    killed_before_end += was_killed
                    clean = self.run(env, app.today.isoformat())
                    if clean.exit_code != 0:
                        verdict, problems = "wedged", [f"clean run exit {clean.exit_code}"]
                        wedged += 1
                        consecutive_wedges += 1
                    else:
                        consecutive_wedges = 0
                        problems = self.check(app)
                        verdict = "lost" if problems else "recovered"
                        lost += bool(problems)
                        recovered += not problems
                        recoveries.append(clean.seconds)
                        if clean.report is not None:
                            reference = clean  # the machine's pace drifts: aim by the latest clean run
                    how = f"killed at {after:.1f} s" if was_killed else f"ended (exit {killed.exit_code}) first"
                    print(f"trial {trial:>3} {app.today} aimed at {step:<9} {how:<24} recovery "
                          f"{clean.seconds:6.1f} s: {verdict}{': ' + '; '.join(problems) if problems else ''}",
                          flush=True)
                    if consecutive_wedges >= 3:
                        print("stopped: three wedged trials in a row")
                        break
        finally:
            with closing(warehouse.connect(self.server, autocommit=True)) as admin, admin.cursor() as cur:
                cur.execute(f'drop database if exists "{self.database}" with (force)')
        print(f"seed {args.seed}, scale {args.scale}: trials {trials}, killed mid-run {killed_before_end}, "
              f"recovered {recovered}, lost {lost}, wedged {wedged}")
        print_spread("recovery run after a kill, wall", recoveries)
        return 0 if lost == 0 and wedged == 0 else 1


def main() -> int:
    args = parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**31)
    print(f"seed {args.seed}", flush=True)
    server = os.environ.get("KNACKHOUSE_DATABASE_URL")
    if not server:
        print("set KNACKHOUSE_DATABASE_URL to a PostgreSQL server (the soak creates its database there)")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        configure_environment(Settings(home=home))
        return Soak(args, server, home).soak()


if __name__ == "__main__":
    raise SystemExit(main())
