"""Knack API simulator and the generated school-coaching demo app (see docs/simulator.md)."""

from simulator.app import KnackApp
from simulator.faults import Faults
from simulator.fixture import FixtureApp
from simulator.server import SimulatorServer

__all__ = ["Faults", "FixtureApp", "KnackApp", "SimulatorServer"]
