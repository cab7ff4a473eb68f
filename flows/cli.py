"""`knackhouse run / demo / serve / ci`: the flow's entry points (dispatched from knackhouse/cli.py)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from knackhouse.errors import ConfigError
from knackhouse.settings import Settings, configure_environment
from knackhouse.warehouse import DEMO_DATABASE

T = TypeVar("T")

DEPLOYMENT_NAME = "daily"
ENTRYPOINT = "flows/daily_sync.py:daily_sync"
PROJECT_DIR = Path(__file__).resolve().parents[1]  # the folder holding flows/: what a process worker runs


def _quiet_logs_off_terminal() -> None:
    """Terminal: Prefect's progress logs; otherwise (CI, workers) only warnings and above."""
    if not sys.stderr.isatty():
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """One run of daily-sync against the configured app; returns the contract's exit code."""
    configure_environment(settings)
    _quiet_logs_off_terminal()
    from flows.preflight import check_run

    # credentials, flags, mapping, database and the mapping against Knack's metadata: one line, before Prefect
    checked = check_run(settings, as_of=args.as_of, reopen_years=args.reopen_year)
    from flows.alerts import check_urls
    from flows.daily_sync import RunOptions, run_flow

    check_urls(settings.alert_urls)
    options = RunOptions(dry_run=args.dry_run, full_refresh=args.full_refresh, reconcile=args.reconcile,
                         reopen_years=checked.reopen_years, as_of=checked.as_of)
    outcome = with_prefect_api(lambda: run_flow(settings, options=options))
    print(outcome.summary.get("headline", ""))
    print(f"report: {outcome.report_path}")
    return outcome.exit_code


def with_prefect_api(call: Callable[[], T]) -> T:
    """Run `call`, turning "Prefect's API is not there" into a clear configuration error (exit 2)."""
    import httpx
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    try:
        return call()
    except RuntimeError as error:
        if str(error).startswith("Failed to reach API at"):
            raise ConfigError(f"cannot reach the Prefect API at {PREFECT_API_URL.value()}; nothing was run. Start "
                              "the server (`prefect server start`) or fix PREFECT_API_URL") from None
        if "ephemeral Prefect API server" not in str(error):
            raise
        raise ConfigError(
            "Prefect's temporary API server did not start within "
            f"{PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()} s (a busy machine?); nothing was run. "
            "Raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, or set PREFECT_API_URL to a running Prefect "
            "server (`prefect server start`)") from None
    except httpx.HTTPError as error:
        raise ConfigError(f"cannot reach the Prefect API at {PREFECT_API_URL.value()} ({type(error).__name__}: "
                          f"{error}); nothing was run. Start the server or fix PREFECT_API_URL") from None


def schedule(settings: Settings, cron: str | None = None, timezone: str | None = None) -> Any:
    """The daily schedule: --cron/--timezone, else KNACKHOUSE_CRON/KNACKHOUSE_TIMEZONE (default 0 2 * * * UTC)."""
    from prefect.schedules import Cron

    cron, timezone = cron or settings.cron, timezone or settings.timezone
    try:
        return Cron(cron, timezone=timezone)
    except ValueError as error:
        raise ConfigError(f"bad schedule {cron!r} in time zone {timezone!r}: {error} "
                          "(set KNACKHOUSE_CRON to five cron fields and KNACKHOUSE_TIMEZONE to an IANA name, "
                          "e.g. Europe/London)") from error


def next_runs(cron_schedule: Any, count: int = 3) -> list[datetime]:
    """The next `count` times Prefect's scheduler will start the deployment."""
    import asyncio

    from prefect.server.schemas.schedules import CronSchedule

    dates = asyncio.run(CronSchedule(cron=cron_schedule.cron, timezone=cron_schedule.timezone).get_dates(count))
    return list(dates)


def deployment(settings: Settings, cron: str | None = None, timezone: str | None = None) -> Any:
    """The `daily-sync/daily` deployment served from this process, with its schedule and one run at a time."""
    from flows.daily_sync import daily_sync

    return daily_sync.to_deployment(name=DEPLOYMENT_NAME, schedules=[schedule(settings, cron, timezone)],
                                    concurrency_limit=1)


def _api_url() -> str | None:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def _deployment_url(deployment_id: Any) -> str:
    from prefect.utilities.urls import url_for

    return url_for("deployment", obj_id=deployment_id) or f"{_api_url()}/deployments/{deployment_id}"


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the daily deployment from this process until interrupted (runs happen in this process).

    Without PREFECT_API_URL the deployment lives in a temporary server inside this process: its next run
    times are printed, as nobody else can see them. With PREFECT_API_URL it is registered on that server
    and its URL printed.
    """
    configure_environment(settings)
    from prefect import serve as prefect_serve

    served = deployment(settings, args.cron, args.timezone)
    cron = served.schedules[0].schedule
    if _api_url():
        deployment_id = with_prefect_api(served.apply)
        print(f"deployment daily-sync/{DEPLOYMENT_NAME}: {_deployment_url(deployment_id)}", flush=True)
    else:
        times = ", ".join(t.isoformat() for t in next_runs(cron))
        print(f"no PREFECT_API_URL: serving daily-sync/{DEPLOYMENT_NAME} from this process only; "
              f"cron {cron.cron!r} in {cron.timezone}; next runs: {times}", flush=True)
    with_prefect_api(lambda: prefect_serve(served))
    return 0


def deploy(args: argparse.Namespace, settings: Settings) -> int:
    """Register daily-sync/daily on the Prefect server PREFECT_API_URL names, for the workers of `--pool`."""
    configure_environment(settings)
    if not _api_url():
        raise ConfigError("PREFECT_API_URL is not set: `knackhouse deploy` registers the deployment on a Prefect "
                          "server (self-hosted: http://HOST:4200/api; Prefect Cloud: `prefect cloud login`)")
    cron = schedule(settings, args.cron, args.timezone)
    deployment_id = with_prefect_api(lambda: _deploy(args.pool, cron))
    times = ", ".join(t.isoformat() for t in next_runs(cron))
    print(f"deployment daily-sync/{DEPLOYMENT_NAME} on work pool {args.pool!r}, one run at a time; "
          f"cron {cron.cron!r} in {cron.timezone}; next runs: {times}")
    print(f"deployment daily-sync/{DEPLOYMENT_NAME}: {_deployment_url(deployment_id)}")
    print(f"start a worker where knackhouse and its KNACK_*/KNACKHOUSE_* settings are: "
          f"prefect worker start --pool {args.pool} --type process")
    return 0


def _deploy(pool: str, cron: Any) -> Any:
    """The deployment, its code taken from this installation's folder (a process worker runs it in place)."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    from flows.daily_sync import daily_sync

    with get_client(sync_client=True) as client, suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
    flow = daily_sync.from_source(source=str(PROJECT_DIR), entrypoint=ENTRYPOINT)
    return flow.deploy(name=DEPLOYMENT_NAME, work_pool_name=pool, schedules=[cron], concurrency_limit=1,
                       build=False, push=False, print_next_steps=False,
                       description="knackhouse: Knack -> raw_knack -> dbt -> guards -> marts, once a day")


def _simulated_runs(settings: Settings, database_url: str, scale: float, seed: int, days: int,
                    incident_day: int | None) -> list[Any]:
    """Initial load from a simulator, then `days` simulated days (one with a scripted incident)."""
    from dataclasses import replace

    try:
        from simulator import DemoApp, SimulatorServer
    except ImportError as error:
        raise ConfigError(f"the simulator is not available in this install: {error}") from error
    from flows.daily_sync import RunOptions, run_flow, secret_free_url

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
            options = RunOptions(as_of=app.today, reconcile=reconcile)
            outcome = with_prefect_api(partial(run_flow, sim_settings, secret_free_url(database_url), options))
            print(f"\n=== day {day} ({app.today}): {story} ===")
            print(Path(outcome.report_path).read_text() if outcome.report_path else outcome.summary)
            outcomes.append(outcome)
    return outcomes


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
    print("or, later: psql \"$(knackhouse warehouse url --demo)\"")
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
