"""The command line and the settings every part shares."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from knackhouse import __version__
from knackhouse.cli import build_parser
from knackhouse.settings import TELEMETRY_OFF, Settings, configure_environment


def _knackhouse(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "KNACKHOUSE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "knackhouse.cli", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_version_is_printed(tmp_path: Path) -> None:
    result = _knackhouse("--version", home=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"knackhouse {__version__}"


def test_help_lists_every_contract_command(tmp_path: Path) -> None:
    result = _knackhouse("--help", home=tmp_path)
    assert result.returncode == 0
    for command in ("demo", "run", "serve", "ci", "simulate", "warehouse"):
        assert command in result.stdout


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    assert _knackhouse("frobnicate", home=tmp_path).returncode == 2


def test_run_accepts_the_contract_options() -> None:
    args = build_parser().parse_args(
        ["run", "--dry-run", "--full-refresh", "--reconcile", "--reopen-year", "2024/2025"]
    )
    assert (args.dry_run, args.full_refresh, args.reconcile, args.reopen_year) == (True, True, True, ["2024/2025"])


def test_settings_come_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "KNACKHOUSE_HOME": str(tmp_path / "h"),
            "KNACK_APP_ID": "app",
            "KNACK_API_KEY": "secret",
            "KNACK_API_URL": "http://127.0.0.1:9/v1/",
            "KNACKHOUSE_DATABASE_URL": "postgresql://x@h/db",
        }
    )
    assert settings.home == tmp_path / "h"
    assert settings.knack_api_url == "http://127.0.0.1:9/v1"
    assert settings.database_url == "postgresql://x@h/db"
    assert settings.knack_api_url and settings.knack_app_id == "app"


def test_settings_default_to_the_real_knack_api_and_a_local_home(tmp_path: Path) -> None:
    settings = Settings.from_env({})
    assert settings.knack_api_url == "https://api.knack.com/v1"
    assert settings.home == (Path.cwd() / ".knackhouse").resolve()


def test_the_api_key_is_not_in_the_settings_repr() -> None:
    settings = Settings(home=Path("/tmp/x"), knack_api_key="very-secret-key")
    assert "very-secret-key" not in repr(settings)


def test_tools_keep_their_state_under_knackhouse_home_with_telemetry_off(tmp_path: Path) -> None:
    environ: dict[str, str] = {}
    configure_environment(Settings(home=tmp_path), environ)
    for name, value in TELEMETRY_OFF.items():
        assert environ[name] == value
    for name in ("DLT_DATA_DIR", "PREFECT_HOME", "DBT_LOG_PATH", "XDG_RUNTIME_DIR", "MPLCONFIGDIR"):
        assert Path(environ[name]).is_relative_to(tmp_path)


def test_a_users_own_tool_setting_is_kept(tmp_path: Path) -> None:
    environ = {"PREFECT_HOME": "/tmp/my-prefect"}
    configure_environment(Settings(home=tmp_path), environ)
    assert environ["PREFECT_HOME"] == "/tmp/my-prefect"
