"""What every demo-app benchmark takes: --scale, --seed, --repeat, and the server from KNACKHOUSE_DATABASE_URL."""

from __future__ import annotations

import argparse
import os
import statistics


def parse_bench_args(doc: str | None, repeat: int) -> tuple[argparse.Namespace, str | None]:
    """The parsed arguments and the PostgreSQL server URL (None, with a message, when it is not set)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="demo app size (1 = a realistic platform)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=repeat, help="runs measured (min/median/max)")
    args = parser.parse_args()
    server = os.environ.get("KNACKHOUSE_DATABASE_URL")
    if not server:
        print("set KNACKHOUSE_DATABASE_URL to a PostgreSQL server (the benchmark creates its databases there)")
    return args, server


def print_spread(label: str, values: list[float], unit: str = "s", fmt: str = "{:.2f}") -> None:
    """One line of min/median/max (and how many runs) for a measurement; nothing when it has no values."""
    if not values:
        return
    print(f"{label:<58} min {fmt.format(min(values))}  median {fmt.format(statistics.median(values))}  "
          f"max {fmt.format(max(values))} {unit}  ({len(values)} runs)")
