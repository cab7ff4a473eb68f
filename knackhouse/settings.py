"""The one place that reads knackhouse's environment, and points every tool's state at KNACKHOUSE_HOME."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from knackhouse.errors import ConfigError

DEFAULT_KNACK_API_URL = "https://api.knack.com/v1"
DEFAULT_HOME = ".knackhouse"
DATABASE_PASSWORD_ENV = "KNACKHOUSE_DATABASE_PASSWORD"
DEFAULT_RETENTION_DAYS = 14.0
DEFAULT_LOCK_STALE_HOURS = 6.0
DEFAULT_FRESHNESS_WARN_HOURS = 26.0
DEFAULT_FRESHNESS_HOURS = 36.0
PRIVATE_UMASK = 0o077  # KNACKHOUSE_HOME holds records (dlt's packages) and tool state: its owner's alone
# folders of the home whose modes their own program manages: PostgreSQL refuses a data dir it did not set up,
# and `run` holds the embedded server's socket
SELF_MANAGED = frozenset({"postgres", "run"})
DEFAULT_DAILY_REQUEST_BUDGET = 5000  # Knack requests per UTC day (set KNACKHOUSE_DAILY_REQUEST_BUDGET to the plan's)
BUDGET_SHORTFALL_CHOICES = ("warn", "error")
DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"
# Prefect's own default (20 s) is too short for its temporary API server on a busy two-core machine
EPHEMERAL_STARTUP_TIMEOUT_SECONDS = "180"
DEFAULT_FUTURE_TOLERANCE_MINUTES = 60   # clock skew and a DST hour; a modified time further ahead is not believed

TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


@dataclass(frozen=True)
class Settings:
    """knackhouse's configuration, read from the environment (see README.md, "Configuration")."""

    home: Path
    database_url: str | None = None
    knack_app_id: str | None = None
    knack_api_key: str | None = field(default=None, repr=False)
    knack_api_url: str = DEFAULT_KNACK_API_URL
    app_config: Path | None = None
    # the database password when the URL carries none (KNACKHOUSE_DATABASE_PASSWORD): flow parameters, which
    # Prefect stores, carry the URL without it
    database_password: str | None = field(default=None, repr=False)
    retention_days: float = DEFAULT_RETENTION_DAYS
    lock_stale_hours: float = DEFAULT_LOCK_STALE_HOURS
    daily_request_budget: int = DEFAULT_DAILY_REQUEST_BUDGET
    budget_shortfall: str = "warn"
    alert_urls: tuple[str, ...] = field(default=(), repr=False)  # Apprise URLs hold tokens: never a parameter
    cron: str = DEFAULT_CRON
    timezone: str = DEFAULT_TIMEZONE
    future_tolerance_minutes: int = DEFAULT_FUTURE_TOLERANCE_MINUTES
    deletion_sweep: bool = True          # KNACKHOUSE_DELETION_SWEEP: the daily deletion sweep (ingest/sweep.py)
    reconcile_every_days: int = 7        # KNACKHOUSE_RECONCILE_EVERY_DAYS: a complete reconcile this often (0: never)
    # dbt source freshness (the run's first step): a source whose last successful load is older warns, older
    # than freshness_hours it is STALE (loud in the report, alerted)
    freshness_warn_hours: float = DEFAULT_FRESHNESS_WARN_HOURS   # KNACKHOUSE_FRESHNESS_WARN_HOURS
    freshness_hours: float = DEFAULT_FRESHNESS_HOURS             # KNACKHOUSE_FRESHNESS_HOURS

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
            database_password=env.get(DATABASE_PASSWORD_ENV) or None,
            retention_days=_non_negative(env, "KNACKHOUSE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS, "days"),
            lock_stale_hours=_non_negative(env, "KNACKHOUSE_LOCK_STALE_HOURS", DEFAULT_LOCK_STALE_HOURS, "hours"),
            daily_request_budget=_budget(env.get("KNACKHOUSE_DAILY_REQUEST_BUDGET")),
            budget_shortfall=_shortfall(env.get("KNACKHOUSE_BUDGET_SHORTFALL")),
            alert_urls=alert_urls(env),
            cron=env.get("KNACKHOUSE_CRON") or DEFAULT_CRON,
            timezone=env.get("KNACKHOUSE_TIMEZONE") or DEFAULT_TIMEZONE,
            future_tolerance_minutes=_whole_number(env, "KNACKHOUSE_FUTURE_TOLERANCE_MINUTES",
                                                   DEFAULT_FUTURE_TOLERANCE_MINUTES, "minutes"),
            deletion_sweep=_flag(env, "KNACKHOUSE_DELETION_SWEEP", True),
            reconcile_every_days=_whole_number(env, "KNACKHOUSE_RECONCILE_EVERY_DAYS", 7, "days (0 turns it off)"),
            freshness_warn_hours=_non_negative(env, "KNACKHOUSE_FRESHNESS_WARN_HOURS", DEFAULT_FRESHNESS_WARN_HOURS,
                                               "hours"),
            freshness_hours=_non_negative(env, "KNACKHOUSE_FRESHNESS_HOURS", DEFAULT_FRESHNESS_HOURS, "hours"),
        )

    def state_dir(self, name: str) -> Path:
        """A folder under KNACKHOUSE_HOME for one tool's local state, created on first use."""
        path = self.home / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def _non_negative(env: Mapping[str, str], name: str, default: float, unit: str) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise ConfigError(f"{name} must be a number of {unit} (0 or more), got {text!r}; unset it for {default:g}")
    return value


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



def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = (env.get(name) or "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false (1/0, yes/no, on/off), got {value!r}")


def _whole_number(env: Mapping[str, str], name: str, default: int, unit: str) -> int:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ConfigError(f"{name} must be a whole number of {unit}, got {value!r}")
    return int(value)


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
    secure_home(settings.home, fix_existing=settings.home not in _SECURED)
    _SECURED.add(settings.home)
    for folder in ("dlt", "prefect", "matplotlib"):
        (settings.home / folder).mkdir(parents=True, exist_ok=True)
    (settings.home / "run").mkdir(mode=0o700, parents=True, exist_ok=True)
    (settings.home / "run").chmod(0o700)
    return {name: env[name] for name in tool_environment(settings)}


_SECURED: set[Path] = set()


def secure_home(home: Path, *, fix_existing: bool = True) -> None:
    """Keep KNACKHOUSE_HOME its owner's alone: this process and every tool it starts create files 0600 and
    folders 0700 (umask 077); `fix_existing` takes group and other rights off what is already there."""
    os.umask(PRIVATE_UMASK)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    if fix_existing:
        make_private(home, skip=SELF_MANAGED)
    # as root, the embedded PostgreSQL runs as its own system user, which must pass through the home to its data
    pgdata = home / "postgres"
    foreign = pgdata.exists() and pgdata.stat().st_uid != os.geteuid()
    home.chmod(0o711 if foreign else 0o700)


def make_private(folder: Path, *, skip: frozenset[str] = frozenset()) -> None:
    """Take group and other rights off everything under `folder` (its top-level entries in `skip` left alone)."""
    for root, dirs, files in os.walk(folder):
        if Path(root) == folder:
            dirs[:] = [d for d in dirs if d not in skip]
        for name in (*dirs, *files):
            _owner_only(os.path.join(root, name))


def _owner_only(path: str) -> None:
    info = os.lstat(path)
    mode = stat.S_IMODE(info.st_mode)
    if mode & PRIVATE_UMASK and not stat.S_ISLNK(info.st_mode) and info.st_uid == os.geteuid():
        os.chmod(path, mode & ~PRIVATE_UMASK)
