"""A Hypothesis state machine over a simulated Knack app and a real warehouse: its rules are the changes people
make in Knack and the kinds of run an operator starts, and after every step the invariants of
`tests/invariants.py` are checked against the simulator's ground truth. The suite runs it small and derandomized
(`tests/stateful/test_stateful_warehouse.py`); `benchmarks/soak_stateful.py` runs it long with a random seed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from knackhouse import warehouse
from knackhouse.settings import Settings
from simulator import DemoApp, SimulatorServer
from simulator.demo_schema import (
    E_STATUS,
    ESTABLISHMENTS,
    R_EMAIL,
    R_OVERALL,
    RESULTS,
    S_EMAIL,
    S_ESTABLISHMENT,
    S_NAME,
    STAFF,
    STUDENTS,
    T_ROLE,
)
from simulator.knack_values import normalise_email
from simulator.truth import compute_truth
from tests import invariants as inv

# a warehouse of a few schools whose current academic year (1 August) ends a few simulated days in
GUARDS_YAML = """severity:
  growth: warn
  created: warn
  orphan_share: warn
  duplicate_share: warn
"""
MAX_BOUNDARIES = 2  # year boundaries per sequence: each closes a year; more only grow the app (Hypothesis's
                    # simplest sequence repeats one rule, and 50 jumps were 24 simulated years)
KILL_WAIT_SECONDS = 120.0  # a killed run's audit row must appear within this (bounded wait, then it's a failure)


@dataclass
class Context:
    """Where the machine runs: set by the suite's test or the soak before Hypothesis starts it."""

    server_url: str
    workdir: Path
    scale: float = 0.01
    seed: int = 5
    start: date = date(2026, 7, 29)
    full_refresh_check_every_step: bool = False
    log: Callable[[str], None] = lambda message: None
    template: str | None = None  # a database holding the first load (make_template): each sequence copies it


def _guards_config(home: Path) -> None:
    """The statistical guards warn (random changes at small scale are anomalies by design); the exact
    reconciliations still stop a run."""
    guards = home / "guards.yml"
    guards.write_text(GUARDS_YAML)
    os.environ["KNACKHOUSE_GUARDS_CONFIG"] = str(guards)


def make_template(ctx: Context) -> str:
    """A database holding the app's first load, for every sequence to start from as a copy (a file copy, not
    a first load per sequence); the caller drops it."""
    from tests.incidents.conftest import Pipeline

    name = f"kh_stateful_template_{uuid.uuid4().hex[:8]}"
    with closing(warehouse.connect(ctx.server_url, autocommit=True)) as admin, admin.cursor() as cur:
        cur.execute(f'create database "{name}"')
    home = ctx.workdir / name
    home.mkdir(parents=True)
    _guards_config(home)
    app = DemoApp(scale=ctx.scale, seed=ctx.seed, start=ctx.start)
    with SimulatorServer(app) as sim:
        settings = Settings(home=home / "home", knack_app_id=sim.app_id, knack_api_key=sim.api_key,
                            knack_api_url=sim.base_url)
        outcome = Pipeline(app, sim, settings, warehouse.with_database(ctx.server_url, name)).run()
    assert outcome.exit_code == 0, f"the first load failed: {outcome.summary.get('headline')}"
    drop_database(ctx.server_url, name, only_connections=True)
    return name


def drop_database(server_url: str, name: str, *, only_connections: bool = False) -> None:
    with closing(warehouse.connect(server_url, autocommit=True)) as admin, admin.cursor() as cur:
        cur.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s "
                    "and pid <> pg_backend_pid()", (name,))
        if not only_connections:
            cur.execute(f'drop database if exists "{name}" with (force)')


class WarehouseMachine(RuleBasedStateMachine):
    """One warehouse, one simulated app; Knack changes and runs as rules, the invariants after each step."""

    context: ClassVar[Context]

    def __init__(self) -> None:
        super().__init__()
        from tests.incidents.conftest import Pipeline

        ctx = self.context
        self.name = f"kh_stateful_{uuid.uuid4().hex[:10]}"
        with closing(warehouse.connect(ctx.server_url, autocommit=True)) as admin, admin.cursor() as cur:
            cur.execute(f'create database "{self.name}"' + (f' template "{ctx.template}"' if ctx.template else ""))
        self.url = warehouse.with_database(ctx.server_url, self.name)
        self.home = ctx.workdir / self.name
        self.home.mkdir(parents=True)
        _guards_config(self.home)
        app = DemoApp(scale=ctx.scale, seed=ctx.seed, start=ctx.start)
        self.sim = SimulatorServer(app).start()
        settings = Settings(home=self.home / "home", knack_app_id=self.sim.app_id, knack_api_key=self.sim.api_key,
                            knack_api_url=self.sim.base_url)
        self.pipeline = Pipeline(app, self.sim, settings, self.url)
        self.rng = random.Random(ctx.seed)
        self.statuses: list[str] = []      # the true status of every run that writes, in order
        self.published: dict[str, Any] = {}  # marts as the last good run published them
        self.dirty = True                  # Knack changed since the last good run
        self.pending_keys: set[str] = set()  # student keys a re-upload must keep
        self.failed = False
        self.rerun_done = False            # an unchanged daily rerun ran since Knack last changed
        self.unretired = False             # deletions only a reconcile retires are pending (the sweep is off)
        self.steps = 0
        self.boundaries = 0
        if ctx.template:  # the copy holds the first load of this same app (the generator is deterministic)
            self.statuses = [status for _, status in inv.audit_runs(self.query)]
            self.published, self.dirty = inv.snapshot(self.query, "marts"), False

    # ------------------------------------------------------------------ helpers
    @property
    def app(self) -> DemoApp:
        return self.pipeline.app

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.pipeline.query(sql, params)

    def _pick(self, object_key: str, index: int) -> str | None:
        ids = sorted(self.app.tables[object_key].rows)
        return ids[index % len(ids)] if ids else None

    def _change(self, object_key: str, record_id: str, position: int, value: Any) -> None:
        values = list(self.app.tables[object_key].rows[record_id])
        values[position] = value
        self.app.touch(object_key, record_id, tuple(values))
        self.dirty = True

    def _note(self, change: str) -> None:
        self.context.log(f"change: {change} (simulated date {self.app.today})")

    def _fail(self, problems: list[str], what: str) -> None:
        if problems:
            self.failed = True
            raise AssertionError(f"after {what}: " + "; ".join(problems))

    # ------------------------------------------------------------------ Knack changes
    @initialize()
    def first_load(self) -> None:
        if not self.context.template:
            self._run("first load")

    @rule(object_key=st.sampled_from([STUDENTS, RESULTS, STAFF]), index=st.integers(0, 10_000))
    def create(self, object_key: str, index: int) -> None:
        """A new record (a copy of one, a new email for a student or staff member), created now."""
        self._note(f"create(object_key={object_key!r}, index={index!r})")
        source = self._pick(object_key, index)
        if source is None:
            return
        values = list(self.app.tables[object_key].rows[source])
        if object_key in (STUDENTS, STAFF):
            position = S_EMAIL if object_key == STUDENTS else 1
            values[position] = f"new{self.steps}.{index}@{(values[position] or 'x@example.org').split('@')[-1]}"
        created = self.app.insert(object_key, tuple(values), self.app.now)
        self.app.touch(object_key, created)
        self.dirty = True

    @rule(index=st.integers(0, 10_000), score=st.integers(1, 10))
    def edit(self, index: int, score: int) -> None:
        """A result's score and a student's name edited."""
        self._note(f"edit(index={index!r}, score={score!r})")
        result = self._pick(RESULTS, index)
        if result is not None:
            self._change(RESULTS, result, R_OVERALL, score)
        student = self._pick(STUDENTS, index)
        if student is not None:
            name = self.app.tables[STUDENTS].rows[student][S_NAME]
            self._change(STUDENTS, student, S_NAME, name)

    @rule(object_key=st.sampled_from([STUDENTS, RESULTS, STAFF]), index=st.integers(0, 10_000),
          count=st.integers(1, 3))
    def delete(self, object_key: str, index: int, count: int) -> None:
        self._note(f"delete(object_key={object_key!r}, index={index!r}, count={count!r})")
        ids = sorted(self.app.tables[object_key].rows)
        if ids:
            self.app.delete_many(object_key, [ids[(index + i * 7) % len(ids)] for i in range(min(count, len(ids)))])
            self.dirty = True
            self.unretired |= not self.pipeline.settings.deletion_sweep

    @rule()
    def reupload_school(self) -> None:
        """A school's students deleted and uploaded again: same people, new Knack ids."""
        self._note("reupload_school()")
        before = {k for (k,) in self.query("select student_key from marts.dim_students where is_current")} if (
            self.published) else set()
        report = self.app.trigger("reimport_school")
        self.unretired |= not self.pipeline.settings.deletion_sweep
        rows = self.app.tables[STUDENTS].rows
        truth = compute_truth(self.app)
        emails = {rows[rid][S_EMAIL] for rid in report.detail["new_ids"]}
        self.pending_keys |= before & {inv.natural_key(email, year) for (email, year) in truth.student_year_keys
                                       if any(email == normalise_email(e or "") for e in emails)}
        self.dirty = True

    @rule(object_key=st.sampled_from([STUDENTS, RESULTS]), index=st.integers(0, 10_000), html=st.booleans())
    def email_case_or_html(self, object_key: str, index: int, html: bool) -> None:
        """An email re-typed in capitals, or pasted as a mailto link: the same person."""
        self._note(f"email_case_or_html(object_key={object_key!r}, index={index!r}, html={html!r})")
        record_id = self._pick(object_key, index)
        position = S_EMAIL if object_key == STUDENTS else R_EMAIL
        if record_id is None or not self.app.tables[object_key].rows[record_id][position]:
            return
        email = normalise_email(self.app.tables[object_key].rows[record_id][position]) or ""
        self._change(object_key, record_id, position,
                     f'<a href="mailto:{email}">{email}</a>' if html else email.upper())

    @rule(index=st.integers(0, 10_000), active=st.booleans())
    def cancel_or_reactivate_school(self, index: int, active: bool) -> None:
        self._note(f"cancel_or_reactivate_school(index={index!r}, active={active!r})")
        school = self._pick(ESTABLISHMENTS, index)
        if school is not None:
            self._change(ESTABLISHMENTS, school, E_STATUS, "Active" if active else "Cancelled")

    @rule(index=st.integers(0, 10_000), to=st.integers(0, 10_000))
    def move_student(self, index: int, to: int) -> None:
        self._note(f"move_student(index={index!r}, to={to!r})")
        student, school = self._pick(STUDENTS, index), self._pick(ESTABLISHMENTS, to)
        if student is not None and school is not None:
            self._change(STUDENTS, student, S_ESTABLISHMENT, (school,))

    @rule(index=st.integers(0, 10_000))
    def change_role(self, index: int) -> None:
        self._note(f"change_role(index={index!r})")
        staff = self._pick(STAFF, index)
        if staff is not None:
            self._change(STAFF, staff, T_ROLE, "Head of Year")

    @rule(days=st.integers(1, 3))
    def advance(self, days: int) -> None:
        """Ordinary days go by (uploads, results, edits, deletions)."""
        self._note(f"advance(days={days!r})")
        self.app.advance(days)
        self.dirty = True

    @precondition(lambda self: self.boundaries < MAX_BOUNDARIES)
    @rule()
    def advance_across_a_year_boundary(self) -> None:
        """The clock moves past the next 1 August or 1 January: a split or a calendar year closes and freezes."""
        self._note("advance_across_a_year_boundary()")
        today = self.app.today
        self.boundaries += 1
        boundary = min(date(today.year + (today >= date(today.year, 8, 1)), 8, 1), date(today.year + 1, 1, 1))
        self.app.advance((boundary - today).days + 1)
        self.dirty = True

    # ------------------------------------------------------------------ runs
    def _run(self, what: str, **options: Any) -> Any:
        before_frozen = inv.frozen_state(self.query)
        raw_before = inv.snapshot(self.query, "raw_knack") if options.get("dry_run") else None
        outcome = self.pipeline.run(**options)
        self.steps += 1
        self.context.log(f"step {self.steps}: {what} -> exit {outcome.exit_code} "
                         f"{outcome.summary.get('failed_task') or ''} {outcome.summary.get('headline', '')[:160]}")
        problems = []
        if outcome.exit_code == 2:
            problems.append(f"the run crashed: {outcome.summary.get('message')}")
        if outcome.exit_code == 1 and (outcome.summary.get("failed_task") != "guards"
                                       or "dbt tests failed" in str(outcome.summary.get("message"))):
            problems.append(f"the run failed outside the guards: {outcome.summary.get('message')}")
        if options.get("dry_run"):
            problems += [f"a dry run changed raw_knack.{t}" for t in inv.differences(
                raw_before or {}, inv.snapshot(self.query, "raw_knack"))]
        else:
            self.statuses.append("success" if outcome.exit_code == 0 else "failed")
            problems += inv.one_audit_row_per_run(self.query, self.statuses)
        succeeded = outcome.exit_code == 0 and not options.get("dry_run")
        truth = compute_truth(self.app)
        if not options.get("dry_run"):  # a dry run loads nothing: raw may lack what Knack created since the last run
            problems += inv.raw_live_matches_knack(
                self.query, truth, complete_reconcile=succeeded and bool(options.get("reconcile")))
        problems += inv.frozen_partitions_unchanged(self.query, before_frozen, options.get("reopen_years", []))
        problems += inv.foreign_keys_resolve(self.query)
        marts = inv.snapshot(self.query, "marts")
        if succeeded:
            problems += inv.every_live_record_in_marts_or_quarantine(self.query, self.app, truth)
            # without the daily sweep, a deletion reaches the marts only with the next reconcile: not a change
            if not self.dirty and not self.unretired and self.published and not options.get(
                    "reopen_years") and not options.get("full_refresh"):
                problems += [f"an unchanged rerun changed marts.{t}" for t in inv.differences(self.published, marts)]
            current = {k for (k,) in self.query("select student_key from marts.dim_students")}
            live_keys = {inv.natural_key(email, year) for (email, year), est in truth.student_year_keys.items()
                         if truth.establishments[est].is_active}
            lost = (self.pending_keys & live_keys) - current
            if lost:
                problems.append(f"{len(lost)} student keys changed across a re-upload: {sorted(lost)[:3]}")
            self.pending_keys = set()
            self.published, self.dirty = marts, False
            if options.get("reconcile"):  # raw_live_matches_knack above held it to Knack's live set
                self.unretired = False
        elif self.published:
            problems += [f"a failed or dry run changed marts.{t}" for t in inv.differences(self.published, marts)]
        self._fail(problems, what)
        return outcome

    # A second unchanged rerun in a row proves nothing the first did not: without this, Hypothesis's first
    # (simplest) sequence of a soak is nothing but daily runs.
    @precondition(lambda self: self.dirty or not self.rerun_done)
    @rule()
    def daily(self) -> None:
        was_dirty = self.dirty
        self._run("daily run")
        self.rerun_done = not was_dirty

    @rule()
    def reconcile(self) -> None:
        self._run("run --reconcile", reconcile=True)

    @rule()
    def full_refresh(self) -> None:
        self._run("run --full-refresh", full_refresh=True)

    @rule(index=st.integers(0, 100))
    def reopen_year(self, index: int) -> None:
        years = sorted(inv.frozen_state(self.query).hashes)
        if years:
            year = years[index % len(years)]
            self._run(f"run --reopen-year {year}", reopen_years=[year])

    @rule()
    def dry_run(self) -> None:
        self._run("run --dry-run", dry_run=True)

    # `knackhouse run` refuses an --as-of after today (exit 2, no run), and the simulated date may be ahead of it
    @precondition(lambda self: self.app.today <= date.today())
    @rule(delay=st.floats(0.0, 20.0))
    def killed_run(self, delay: float) -> None:
        """`knackhouse run` in its own process, killed (SIGKILL, whole process group) at a random point after
        it recorded its start."""
        settings = self.pipeline.settings
        env = {**os.environ, "KNACKHOUSE_DATABASE_URL": self.url, "KNACKHOUSE_HOME": str(settings.home),
               "KNACK_APP_ID": settings.knack_app_id or "", "KNACK_API_KEY": self.sim.api_key,
               "KNACK_API_URL": settings.knack_api_url or ""}
        known = {run_id for run_id, _ in inv.audit_runs(self.query)}
        process = subprocess.Popen([sys.executable, "-m", "knackhouse.cli", "run", "--as-of",
                                    self.app.today.isoformat()], env=env, start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + KILL_WAIT_SECONDS
            while process.poll() is None and time.monotonic() < deadline:
                if {run_id for run_id, _ in inv.audit_runs(self.query)} - known:
                    break
                time.sleep(0.2)
            time.sleep(delay)  # the random point of the kill
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        self._wait_for_backends_to_end()
        self.steps += 1
        new = [(run_id, status) for run_id, status in inv.audit_runs(self.query) if run_id not in known]
        self.context.log(f"step {self.steps}: killed run after {delay:.1f} s -> {new}")
        problems = [] if len(new) == 1 else [f"a run made {len(new)} audit.runs rows: {new}"]
        status = new[0][1] if new else "killed"
        self.statuses.append("killed" if status == "running" else status)
        marts = inv.snapshot(self.query, "marts")
        if status == "success":
            self.published, self.dirty = marts, False
        elif self.published:
            problems += [f"a killed run changed marts.{t}" for t in inv.differences(self.published, marts)]
        problems += inv.foreign_keys_resolve(self.query)
        self._fail(problems, f"a run killed after {delay:.1f} s")

    def _wait_for_backends_to_end(self) -> None:
        """A killed client's backends end when PostgreSQL notices (a query in flight runs to its end first);
        the next run must not find its run lock taken, so wait for them, and end what outlives the bound."""
        others = ("select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()")
        deadline = time.monotonic() + KILL_WAIT_SECONDS
        while self.query(others) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.query(f"select pg_terminate_backend(pid) from ({others}) as b")

    # ------------------------------------------------------------------ the expensive invariant
    def daily_equals_full_refresh(self) -> None:
        """A daily build's candidates and quarantine equal a full refresh's on the same data. The full refresh
        runs on a copy of the warehouse, so the sequence itself stays a chain of incremental builds."""
        from tests.incidents.conftest import Pipeline

        daily = inv.build_state(self.query)
        copy = f"{self.name}_full"
        drop_database(self.context.server_url, self.name, only_connections=True)
        with closing(warehouse.connect(self.context.server_url, autocommit=True)) as admin, admin.cursor() as cur:
            cur.execute(f'create database "{copy}" template "{self.name}"')
        try:
            settings = replace(self.pipeline.settings, home=self.home / "full-refresh-home")
            rebuilt = Pipeline(self.app, self.sim, settings, warehouse.with_database(self.context.server_url, copy))
            outcome = rebuilt.run(full_refresh=True)
            self.context.log(f"step {self.steps}: run --full-refresh on a copy -> exit {outcome.exit_code}")
            if outcome.exit_code != 0 and outcome.summary.get("failed_task") != "guards":
                self._fail([f"the full refresh failed: {outcome.summary.get('message')}"], "a full refresh")
            self._fail(inv.differences(daily, inv.build_state(rebuilt.query)),
                       "a full refresh of a daily build's data (left: daily build, right: full refresh)")
        finally:
            drop_database(self.context.server_url, copy)

    @invariant()
    def full_refresh_every_step(self) -> None:
        """In the soak: after every step that left the warehouse built from Knack's current data."""
        if self.context.full_refresh_check_every_step and self.steps and not self.dirty and not self.failed:
            self.daily_equals_full_refresh()

    def teardown(self) -> None:
        try:
            if (self.steps or self.context.template) and not self.failed and (
                    not self.context.full_refresh_check_every_step or self.dirty):
                if self.dirty:
                    self._run("daily run (before comparing with a full refresh)")
                if not self.dirty:  # else its guards held it back: nothing built to compare
                    self.daily_equals_full_refresh()
        finally:
            self.sim.stop()
            drop_database(self.context.server_url, self.name)


