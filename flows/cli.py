"""`knackhouse run / demo / serve / ci`: the flow's entry points (dispatched from knackhouse/cli.py)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
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
    from flows.daily_sync import RunOptions, daily_sync

    options = RunOptions(dry_run=args.dry_run, full_refresh=args.full_refresh, reconcile=args.reconcile,
                         reopen_years=list(args.reopen_year or []), as_of=_as_of(args.as_of))
    outcome = daily_sync(settings=settings, options=options)
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
