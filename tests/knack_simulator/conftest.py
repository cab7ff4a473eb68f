"""Simulators for the simulator's own tests, driven with a plain HTTP client (requests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from knack_client import KNACKPY_FIXTURES, Client

from simulator import DemoApp, FixtureApp, SimulatorServer


@pytest.fixture(scope="module")
def demo_app() -> DemoApp:
    """A small demo app (read-only in tests that share it)."""
    return DemoApp.generate(scale=0.02, seed=11)


@pytest.fixture(scope="module")
def demo_sim(demo_app: DemoApp) -> Iterator[SimulatorServer]:
    with SimulatorServer(demo_app, seed=11) as sim:
        yield sim


@pytest.fixture(scope="module")
def demo(demo_sim: SimulatorServer) -> Client:
    return Client(demo_sim)


@pytest.fixture(scope="module")
def knackpy_sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(FixtureApp.load(KNACKPY_FIXTURES), seed=1) as sim:
        yield sim


@pytest.fixture(scope="module")
def knackpy(knackpy_sim: SimulatorServer) -> Client:
    return Client(knackpy_sim)


@pytest.fixture
def fresh() -> Iterator[tuple[DemoApp, Client]]:
    """A tiny demo app and server of a test's own, free to be changed."""
    app = DemoApp.generate(scale=0.01, seed=5)
    with SimulatorServer(app, seed=5) as sim:
        yield app, Client(sim)
