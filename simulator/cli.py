"""`knackhouse simulate`: the Knack API simulator in the foreground."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from knackhouse.errors import ConfigError
from knackhouse.settings import Settings

if TYPE_CHECKING:  # the generator and the server load only when a command uses them (`knackhouse --help` fast)
    from simulator.app import KnackApp
    from simulator.faults import Faults

# the fault flags of `knackhouse simulate` (dest, Faults field); any of them contradicts --no-limits
FAULT_FLAGS = {"daily_quota": "--daily-quota", "error_rate": "--error-rate", "slow_seconds": "--slow-seconds",
               "reset_rate": "--reset-rate", "page_shift": "--page-shift", "inflate_total": "--inflate-total"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `simulate` command's options: Knack's rate limit by default, faults on request."""
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = a free one)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--fixture", metavar="DIR", help="replay a fixed app from JSON files instead")
    limits = parser.add_argument_group("limits and faults (Knack's rate limit is on unless --no-limits)")
    limits.add_argument("--no-limits", action="store_true", help="serve without any limit or fault")
    limits.add_argument("--requests-per-second", type=int, default=10, metavar="N",
                        help="requests allowed per second before 429 (default 10, Knack's)")
    limits.add_argument("--daily-quota", type=int, metavar="N", help="requests per simulated day before 429")
    limits.add_argument("--error-rate", type=float, default=0.0, metavar="P", help="share of requests that get 503")
    limits.add_argument("--slow-seconds", type=float, default=0.0, metavar="S", help="delay responses by S s")
    limits.add_argument("--slow-rate", type=float, default=1.0, metavar="P", help="share of responses delayed")
    limits.add_argument("--reset-rate", type=float, default=0.0, metavar="P",
                        help="share of record pages cut mid-body by a connection reset")
    limits.add_argument("--page-shift", type=int, default=0, metavar="N",
                        help="before each page after the first, insert, delete and modify N records of the object")
    limits.add_argument("--inflate-total", type=int, default=0, metavar="N",
                        help="report N more total_records than the pages hold")


def faults_from_args(args: argparse.Namespace) -> Faults:
    """The limits and faults the options ask for; `--no-limits` with a fault flag is a contradiction."""
    from simulator.faults import Faults

    asked = [flag for dest, flag in FAULT_FLAGS.items() if getattr(args, dest, None)]
    if getattr(args, "no_limits", False):
        if asked:
            raise ConfigError(f"--no-limits serves without faults, but {', '.join(asked)} asks for one: "
                              "drop one of them")
        return Faults()
    for name in ("error_rate", "slow_rate", "reset_rate"):
        if not 0.0 <= float(getattr(args, name, 0.0)) <= 1.0:
            raise ConfigError(f"--{name.replace('_', '-')} is a share between 0 and 1, got {getattr(args, name)}")
    for name in ("requests_per_second", "daily_quota", "page_shift", "inflate_total", "slow_seconds"):
        value = getattr(args, name, None)
        if value is not None and value < (1 if name == "requests_per_second" else 0):
            raise ConfigError(f"--{name.replace('_', '-')} must not be negative or zero, got {value}")
    shift = int(getattr(args, "page_shift", 0) or 0)
    return Faults(rate_limit=True, requests_per_second=int(getattr(args, "requests_per_second", 10)),
                  daily_quota=getattr(args, "daily_quota", None), error_rate=float(getattr(args, "error_rate", 0.0)),
                  slow_seconds=float(getattr(args, "slow_seconds", 0.0)),
                  slow_rate=float(getattr(args, "slow_rate", 1.0)), reset_rate=float(getattr(args, "reset_rate", 0.0)),
                  inflate_total=int(getattr(args, "inflate_total", 0) or 0), page_shift_inserts=shift,
                  page_shift_deletes=shift, page_shift_modifies=shift)


def describe(faults: Faults) -> str:
    """One line saying which limits and faults are on."""
    from simulator.faults import Faults

    if faults == Faults():
        return "no limits, no faults (--no-limits)"
    parts = [f"{faults.requests_per_second} requests/s"] if faults.rate_limit else []
    parts += [f"daily quota {faults.daily_quota}"] if faults.daily_quota is not None else []
    parts += [f"503 on {faults.error_rate:.0%}"] if faults.error_rate else []
    parts += [f"{faults.slow_seconds} s delay on {faults.slow_rate:.0%}"] if faults.slow_seconds else []
    parts += [f"resets on {faults.reset_rate:.0%} of pages"] if faults.reset_rate else []
    parts += [f"page shift {faults.page_shift_inserts}"] if faults.page_shift else []
    parts += [f"total_records +{faults.inflate_total}"] if faults.inflate_total else []
    return ", ".join(parts)


def build_app(scale: float, seed: int, fixture: str | None) -> KnackApp:
    """The demo app at a scale and seed, or a fixed app replayed from a fixture folder."""
    from simulator.demo import DemoApp
    from simulator.fixture import FixtureApp

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
    from simulator.server import SimulatorServer

    faults = faults_from_args(args)
    app = build_app(float(args.scale), int(args.seed), getattr(args, "fixture", None))
    server = SimulatorServer(app, faults=faults, seed=int(args.seed), port=int(args.port or 0))
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
        print(f"limits: {describe(faults)}")
        print(f"a day of change: curl -X POST -H 'X-Knack-REST-API-Key: {server.api_key}' "
              f"{server.control_url}/advance")
        print("serving on 127.0.0.1 until Ctrl-C", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        print(f"\nstopped after {server.request_count} requests")
    return 0
