"""`knackhouse warehouse url --demo` names the database the demo builds its marts in, on the same server
(tests/flows/test_end_to_end.py follows it to the marts after a real demo)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _warehouse(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "KNACKHOUSE_HOME": str(tmp_path),
           "KNACKHOUSE_DATABASE_URL": "postgresql://kh:secret@127.0.0.1:5999/warehouse?sslmode=require"}
    return subprocess.run([sys.executable, "-m", "knackhouse.cli", "warehouse", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_url_demo_names_the_demos_database_on_the_same_server(tmp_path: Path) -> None:
    result = _warehouse(tmp_path, "url", "--demo")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "postgresql://kh:***@127.0.0.1:5999/knackhouse_demo?sslmode=require"


def test_demo_goes_with_url_only(tmp_path: Path) -> None:
    result = _warehouse(tmp_path, "stop", "--demo")
    assert result.returncode == 2 and "--demo goes with `knackhouse warehouse url` only" in result.stderr
