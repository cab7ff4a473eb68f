"""Knack API simulator and the generated school-coaching demo app (see docs/simulator.md).

Its names are imported on first use, so `knackhouse --help` (which builds `simulate`'s options from
`simulator.cli`) does not load the generator and the server.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {"KnackApp": "simulator.app", "DemoApp": "simulator.demo", "IncidentReport": "simulator.demo",
          "Faults": "simulator.faults", "FixtureApp": "simulator.fixture", "academic_year": "simulator.knack_values",
          "normalise_email": "simulator.knack_values", "SimulatorServer": "simulator.server",
          "EstablishmentTruth": "simulator.truth", "Truth": "simulator.truth"}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
