"""`knackhouse simulate`: prints where it serves before serving, then serves until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests
from knack_client import KNACKPY_FIXTURES


def start(tmp_path: Path, *options: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {**os.environ, "KNACKHOUSE_HOME": str(tmp_path / "home")}
    process = subprocess.Popen([sys.executable, "-m", "knackhouse.cli", "simulate", "--port", "0", *options],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    printed: dict[str, str] = {}
    assert process.stdout is not None
    for _ in range(20):
        line = process.stdout.readline()
        if "=" in line:
            name, _, value = line.strip().partition("=")
            printed[name] = value
        if line.startswith("serving"):
            break
    return process, printed


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=20)
    return process.returncode, out


def test_simulate_prints_url_app_id_and_key_then_serves_until_interrupted(tmp_path: Path) -> None:
    process, printed = start(tmp_path, "--scale", "0.01", "--seed", "4")
    try:
        assert set(printed) == {"KNACK_API_URL", "KNACK_APP_ID", "KNACK_API_KEY"}
        assert printed["KNACK_API_URL"].startswith("http://127.0.0.1:")
        response = requests.get(f"{printed['KNACK_API_URL']}/objects/object_1/records", timeout=10, headers={
            "X-Knack-Application-Id": printed["KNACK_APP_ID"], "X-Knack-REST-API-Key": printed["KNACK_API_KEY"]})
        assert response.status_code == 200 and response.json()["total_records"] > 0
    finally:
        code, out = stop(process)
    assert code == 0 and "stopped after 1 requests" in out


def test_simulate_replays_a_fixture_folder(tmp_path: Path) -> None:
    process, printed = start(tmp_path, "--fixture", str(KNACKPY_FIXTURES))
    try:
        body = requests.get(f"{printed['KNACK_API_URL']}/applications/{printed['KNACK_APP_ID']}", timeout=10).json()
        assert body["application"]["name"]
    finally:
        stop(process)


def test_simulate_with_a_missing_fixture_folder_exits_2_naming_it(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "knackhouse.cli", "simulate", "--fixture", str(tmp_path / "nope")],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "KNACKHOUSE_HOME": str(tmp_path / "home")})
    assert result.returncode == 2 and "nope" in result.stderr


def test_simulate_stops_on_ctrl_c_even_when_started_with_sigint_ignored(tmp_path: Path) -> None:
    env = {**os.environ, "KNACKHOUSE_HOME": str(tmp_path / "home")}
    process = subprocess.Popen([sys.executable, "-m", "knackhouse.cli", "simulate", "--port", "0", "--scale", "0.01"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(7)]
    assert lines[-1].startswith("serving"), lines
    code, out = stop(process)
    assert code == 0 and "stopped after 0 requests" in out
