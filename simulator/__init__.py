"""Knack API simulator and the generated school-coaching demo app (see docs/simulator.md)."""

from simulator.app import KnackApp
from simulator.demo import DemoApp, IncidentReport
from simulator.faults import Faults
from simulator.fixture import FixtureApp
from simulator.knack_values import academic_year, normalise_email
from simulator.server import SimulatorServer
from simulator.truth import EstablishmentTruth, Truth

__all__ = ["DemoApp", "EstablishmentTruth", "Faults", "FixtureApp", "IncidentReport", "KnackApp",
           "SimulatorServer", "Truth", "academic_year", "normalise_email"]
