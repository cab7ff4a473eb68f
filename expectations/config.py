"""The guards' configuration: severities, history rules and tolerances (expectations/guards.yml)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knackhouse.errors import ConfigError

DEFAULTS_PATH = Path(__file__).with_name("guards.yml")
CONFIG_ENV = "KNACKHOUSE_GUARDS_CONFIG"
SEVERITIES = ("error", "warn")


@dataclass(frozen=True)
class HistoryRule:
    """How bounds are drawn from a metric's own history."""

    window: int
    min_history: int
    weekday_min: int
    k: float
    poisson_k: float
    floor_count: float
    floor_relative: float
    floor_share: float
    zero_min: float
    max_ratio: float
    ratio_min_rows: float


@dataclass(frozen=True)
class GuardConfig:
    severity: dict[str, str]
    history: HistoryRule
    pending_deletions: float

    def severity_of(self, kind: str) -> str:
        return self.severity.get(kind, "error")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"guards configuration {path}: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"guards configuration {path}: expected a mapping at the top")
    return data


def load_guard_config(path: Path | str | None = None) -> GuardConfig:
    """The shipped defaults, overridden key by key by `path` or $KNACKHOUSE_GUARDS_CONFIG."""
    data = _read(DEFAULTS_PATH)
    override_path = path or os.environ.get(CONFIG_ENV)
    if override_path:
        override = _read(Path(override_path))
        for section, values in override.items():
            if section not in data:
                raise ConfigError(f"guards configuration {override_path}: unknown section {section!r}")
            data[section] = {**data[section], **(values or {})}
    for kind, severity in data["severity"].items():
        if severity not in SEVERITIES:
            raise ConfigError(f"guards configuration: severity of {kind} is {severity!r}; use error or warn")
    try:
        history = HistoryRule(**data["history"])
    except TypeError as error:
        raise ConfigError(f"guards configuration, history: {error}") from error
    return GuardConfig(severity=dict(data["severity"]), history=history,
                       pending_deletions=float(data["reconcile"]["pending_deletions"]))
