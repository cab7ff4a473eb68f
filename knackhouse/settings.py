"""The one place that reads knackhouse's environment, and points every tool's state at KNACKHOUSE_HOME."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from knackhouse.errors import ConfigError

DEFAULT_KNACK_API_URL = "https://api.knack.com/v1"
DEFAULT_HOME = ".knackhouse"

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
    deletion_sweep: bool = True          # KNACKHOUSE_DELETION_SWEEP: the daily deletion sweep (ingest/sweep.py)
    reconcile_every_days: int = 7        # KNACKHOUSE_RECONCILE_EVERY_DAYS: a complete reconcile this often (0: never)

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
            deletion_sweep=_flag(env, "KNACKHOUSE_DELETION_SWEEP", True),
            reconcile_every_days=_whole_number(env, "KNACKHOUSE_RECONCILE_EVERY_DAYS", 7),
        )

    def state_dir(self, name: str) -> Path:
        """A folder under KNACKHOUSE_HOME for one tool's local state, created on first use."""
        path = self.home / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = (env.get(name) or "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false (1/0, yes/no, on/off), got {value!r}")


def _whole_number(env: Mapping[str, str], name: str, default: int) -> int:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ConfigError(f"{name} must be a whole number of days (0 turns it off), got {value!r}")
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
