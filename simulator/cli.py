"""`knackhouse simulate`: the Knack API simulator in the foreground."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from knackhouse.errors import ConfigError
from knackhouse.settings import Settings
from simulator.app import KnackApp
from simulator.demo import DemoApp
from simulator.fixture import FixtureApp
from simulator.server import SimulatorServer


def build_app(scale: float, seed: int, fixture: str | None) -> KnackApp:
    """The demo app at a scale and seed, or a fixed app replayed from a fixture folder."""
    if fixture:
        try:
            return FixtureApp.load(Path(fixture))
        except (OSError, ValueError) as error:
            raise ConfigError(f"--fixture {fixture}: {error}") from error
    if scale <= 0:
        raise ConfigError(f"--scale must be positive, got {scale}")
    return DemoApp(scale=scale, seed=seed)


def simulate(args: argparse.Namespace, settings: Settings) -> int:
    """Print the base URL, app id and API key, then serve until interrupted (Ctrl-C)."""
    app = build_app(float(args.scale), int(args.seed), getattr(args, "fixture", None))
    server = SimulatorServer(app, seed=int(args.seed), port=int(args.port or 0))
    try:
        server.bind()
    except OSError as error:
        raise ConfigError(f"cannot listen on 127.0.0.1:{args.port}: {error.strerror}") from error
    # Ctrl-C must stop it even when started with SIGINT ignored (a background job, a parent that ignores it);
    # set before "serving" is printed, so a Ctrl-C sent as soon as it is read is never lost
    signal.signal(signal.SIGINT, signal.default_int_handler)
    counts = ", ".join(f"{t.name} {len(t.rows)}" for t in app.tables.values())
    try:
        print(f"Knack simulator: {app.name} ({counts}); simulated date {app.today}")
        print(f"KNACK_API_URL={server.base_url}")
        print(f"KNACK_APP_ID={server.app_id}")
        print(f"KNACK_API_KEY={server.api_key}")
        print("serving on 127.0.0.1 until Ctrl-C", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        print(f"\nstopped after {server.request_count} requests")
    return 0
