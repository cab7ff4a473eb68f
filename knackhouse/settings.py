"""The one place that reads knackhouse's environment, and points every tool's state at KNACKHOUSE_HOME."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from knackhouse.errors import ConfigError

DEFAULT_KNACK_API_URL = "https://api.knack.com/v1"
DEFAULT_HOME = ".knackhouse"
DEFAULT_DAILY_REQUEST_BUDGET = 5000  # Knack requests per UTC day (set KNACKHOUSE_DAILY_REQUEST_BUDGET to the plan's)
BUDGET_SHORTFALL_CHOICES = ("warn", "error")
DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"
# Prefect's own default (20 s) is too short for its temporary API server on a busy two-core machine
EPHEMERAL_STARTUP_TIMEOUT_SECONDS = "180"

TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


@dataclass(frozen=True)
class Settings:
    """knackhouse's configuration, read from the environment (see shared/contract.md)."""

    home: Path
    database_url: str | None = None
    knack_app_id: str | None = None
    knack_api_key: str | None = field(default=None, repr=False)
    knack_api_url: str = DEFAULT_KNACK_API_URL
    app_config: Path | None = None
    daily_request_budget: int = DEFAULT_DAILY_REQUEST_BUDGET
    budget_shortfall: str = "warn"
    alert_urls: tuple[str, ...] = field(default=(), repr=False)  # Apprise URLs hold tokens: never a parameter
    cron: str = DEFAULT_CRON
    timezone: str = DEFAULT_TIMEZONE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("KNACKHOUSE_HOME") or DEFAULT_HOME).expanduser().resolve()
        app_config = env.get("KNACKHOUSE_APP_CONFIG")
        return cls(
            home=home,
            database_url=env.get("KNACKHOUSE_DATABASE_URL") or None,
            knack_app_id=env.get("KNACK_APP_ID") or None,
            knack_api_key=env.get("KNACK_API_KEY") or None,
            knack_api_url=(env.get("KNACK_API_URL") or DEFAULT_KNACK_API_URL).rstrip("/"),
            app_config=Path(app_config).expanduser().resolve() if app_config else None,
            daily_request_budget=_budget(env.get("KNACKHOUSE_DAILY_REQUEST_BUDGET")),
            budget_shortfall=_shortfall(env.get("KNACKHOUSE_BUDGET_SHORTFALL")),
            alert_urls=alert_urls(env),
            cron=env.get("KNACKHOUSE_CRON") or DEFAULT_CRON,
            timezone=env.get("KNACKHOUSE_TIMEZONE") or DEFAULT_TIMEZONE,
        )

    def state_dir(self, name: str) -> Path:
        """A folder under KNACKHOUSE_HOME for one tool's local state, created on first use."""
        path = self.home / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def _budget(text: str | None) -> int:
    if not text:
        return DEFAULT_DAILY_REQUEST_BUDGET
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 1:
        raise ConfigError(f"KNACKHOUSE_DAILY_REQUEST_BUDGET must be a whole number of requests per day (your Knack "
                          f"plan's API quota), at least 1; got {text!r}")
    return value


def _shortfall(text: str | None) -> str:
    value = (text or "warn").strip().lower()
    if value not in BUDGET_SHORTFALL_CHOICES:
        raise ConfigError(f"KNACKHOUSE_BUDGET_SHORTFALL must be 'warn' (postpone objects, exit 0) or 'error' "
                          f"(postpone them and exit 3); got {text!r}")
    return value


def alert_urls(environ: Mapping[str, str]) -> tuple[str, ...]:
    """KNACKHOUSE_ALERT_URLS (Apprise URLs, comma- or space-separated) plus KNACKHOUSE_ALERT_WEBHOOK, if set."""
    urls = [u for u in re.split(r"[,\s]+", environ.get("KNACKHOUSE_ALERT_URLS") or "") if u]
    webhook = (environ.get("KNACKHOUSE_ALERT_WEBHOOK") or "").strip()
    return tuple(urls + ([webhook] if webhook else []))


def tool_environment(settings: Settings) -> dict[str, str]:
    """The variables that keep dbt, dlt, GX and Prefect quiet and inside KNACKHOUSE_HOME."""
    home = settings.home
    return {
        **TELEMETRY_OFF,
        "XDG_RUNTIME_DIR": str(home / "run"),
        "DLT_DATA_DIR": str(home / "dlt"),
        "DLT_PROJECT_DIR": str(home / "dlt"),
        "PREFECT_HOME": str(home / "prefect"),
        "DBT_LOG_PATH": str(home / "dbt" / "logs"),
        "DBT_TARGET_PATH": str(home / "dbt" / "target"),
        "MPLCONFIGDIR": str(home / "matplotlib"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    }


def configure_environment(settings: Settings, environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set the tool variables the user did not set themselves; call before importing any tool.

    Returns the variables in force, so a subprocess can be given the same.
    """
    env = os.environ if environ is None else environ
    for name, value in tool_environment(settings).items():
        env.setdefault(name, value)
    for folder in ("dlt", "prefect", "matplotlib"):
        (settings.home / folder).mkdir(parents=True, exist_ok=True)
    (settings.home / "run").mkdir(mode=0o700, parents=True, exist_ok=True)
    (settings.home / "run").chmod(0o700)
    return {name: env[name] for name in tool_environment(settings)}
