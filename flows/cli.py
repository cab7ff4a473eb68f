"""`knackhouse run / demo / serve / ci`: the flow's entry points (dispatched from knackhouse/cli.py)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from knackhouse.errors import ConfigError
from knackhouse.settings import Settings, configure_environment

CRON_ENV = "KNACKHOUSE_CRON"
TIMEZONE_ENV = "KNACKHOUSE_TIMEZONE"
DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"


def _as_of(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise ConfigError(f"--as-of must be YYYY-MM-DD, got {text!r}") from error


def _quiet_logs_off_terminal() -> None:
    """Terminal: Prefect's progress logs; otherwise (CI, workers) only warnings and above."""
    if not sys.stderr.isatty():
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """One run of daily-sync against the configured app; returns the contract's exit code."""
    if not settings.knack_app_id or not settings.knack_api_key:
        raise ConfigError("KNACK_APP_ID and KNACK_API_KEY must be set for `knackhouse run` "
                          "(try `knackhouse demo` to see it work against the simulator)")
    configure_environment(settings)
    _quiet_logs_off_terminal()
    from flows.lock import check_session
    from knackhouse.warehouse import resolve_url

    check_session(resolve_url(settings))  # an unreachable, refusing or pooled database: one line, before Prefect
    from flows.daily_sync import RunOptions, daily_sync, without_secret

    options = RunOptions(dry_run=args.dry_run, full_refresh=args.full_refresh, reconcile=args.reconcile,
                         reopen_years=list(args.reopen_year or []), as_of=_as_of(args.as_of))
    outcome = daily_sync(settings=without_secret(settings), options=options)
    print(outcome.summary.get("headline", ""))
    print(f"report: {outcome.report_path}")
    return outcome.exit_code


def deployment(settings: Settings, cron: str | None = None, timezone: str | None = None) -> Any:
    """The `daily-sync` deployment with its cron schedule (default 0 2 * * * UTC)."""
    from flows.daily_sync import daily_sync

    cron = cron or os.environ.get(CRON_ENV) or DEFAULT_CRON
    timezone = timezone or os.environ.get(TIMEZONE_ENV) or DEFAULT_TIMEZONE
    from prefect.schedules import Cron

    try:
        schedule = Cron(cron, timezone=timezone)
    except ValueError as error:
        raise ConfigError(f"bad schedule {cron!r} in {timezone!r}: {error}") from error
    return daily_sync.to_deployment(name="daily", schedules=[schedule])


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the daily deployment from this process until interrupted."""
    configure_environment(settings)
    from prefect import serve as prefect_serve

    prefect_serve(deployment(settings, args.cron, args.timezone))
    return 0


def _simulated_runs(settings: Settings, database_url: str, scale: float, seed: int, days: int,
                    incident_day: int | None) -> list[Any]:
    """Initial load from a simulator, then `days` simulated days (one with a scripted incident)."""
    from dataclasses import replace

    try:
        from simulator import DemoApp, SimulatorServer
    except ImportError as error:
        raise ConfigError(f"the simulator is not available in this install: {error}") from error
    from flows.daily_sync import RunOptions, daily_sync, secret_free_url, without_secret

    app = DemoApp(scale=scale, seed=seed)
    outcomes = []
    with SimulatorServer(app) as sim:
        sim_settings = replace(settings, knack_app_id=sim.app_id, knack_api_key=sim.api_key,
                               knack_api_url=sim.base_url, database_url=database_url)
        incident = None
        for day in range(days + 1):
            story = "initial load" if day == 0 else "an ordinary day"
            reconcile = False
            if day:
                app.advance(1)
                if day == incident_day and getattr(app, "incidents", None):
                    incident = app.trigger(app.incidents[0])
                    story = (f"scripted incident {incident.name}: {incident.records:,} records in "
                             f"{incident.object_key} (the guards must stop it)")
                elif incident is not None:
                    removed = app.clean_up(incident)
                    story = (f"an operator deleted the incident's {removed:,} records in Knack; this run reconciles "
                             "(--reconcile) so raw retires them")
                    incident, reconcile = None, True
            outcome = daily_sync(settings=without_secret(sim_settings), database_url=secret_free_url(database_url),
                                 options=RunOptions(as_of=app.today, reconcile=reconcile))
            print(f"\n=== day {day} ({app.today}): {story} ===")
            print(Path(outcome.report_path).read_text() if outcome.report_path else outcome.summary)
            outcomes.append(outcome)
    return outcomes


DEMO_DATABASE = "knackhouse_demo"


def demo(args: argparse.Namespace, settings: Settings) -> int:
    """Embedded warehouse + simulator: initial load, then --days simulated days; prints each report.

    The demo runs in a database of its own (`knackhouse_demo` on the warehouse's server), created afresh
    each time: simulated data never reaches the database `knackhouse run` loads, and a second demo gives
    the same result as the first.
    """
    configure_environment(settings)
    _quiet_logs_off_terminal()
    from knackhouse.warehouse import create_database, masked_url, resolve_url

    database_url = create_database(resolve_url(settings), DEMO_DATABASE, replace=True)
    incident_day = max(1, args.days // 2) if args.days else None
    outcomes = _simulated_runs(settings, database_url, args.scale, args.seed, args.days, incident_day)
    print(f"\nreports: {settings.home / 'reports'}")
    print(f"query the marts: psql '{masked_url(database_url)}' -c 'select * from marts.dim_students limit 10'")
    return 0 if all(o.exit_code in (0, 1) for o in outcomes) else max(o.exit_code for o in outcomes)


def ci(args: argparse.Namespace, settings: Settings) -> int:
    """A throwaway database loaded from the simulator: dbt build with tests + guards; non-zero on failure."""
    import uuid

    configure_environment(settings)
    _quiet_logs_off_terminal()
    from knackhouse.warehouse import create_database, drop_database, resolve_url

    server = resolve_url(settings)
    name = f"knackhouse_ci_{uuid.uuid4().hex[:8]}"
    try:
        outcomes = _simulated_runs(settings, create_database(server, name), args.scale, args.seed, 0, None)
    finally:
        drop_database(server, name)
    return max(o.exit_code for o in outcomes)
