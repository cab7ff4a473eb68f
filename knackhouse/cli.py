"""`knackhouse`: the one entry point (README.md lists its commands and exit statuses)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from knackhouse.errors import ConfigError, KnackhouseError, NotBuiltYet
from knackhouse.settings import Settings, configure_environment

Handler = Callable[[argparse.Namespace, Settings], int]


def _not_built(command: str) -> Handler:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        raise NotBuiltYet(f"`knackhouse {command}` is not built yet in this version")

    return handler


def _warehouse(args: argparse.Namespace, settings: Settings) -> int:
    from knackhouse import warehouse

    if args.demo and args.action != "url":
        raise ConfigError("--demo goes with `knackhouse warehouse url` only")
    if args.action == "start":
        if settings.database_url:
            warehouse.check_connection(settings.database_url)
            print(f"KNACKHOUSE_DATABASE_URL is set; using it: {warehouse.masked_url(warehouse.resolve_url(settings))}")
            return 0
        print(warehouse.start_embedded(settings))
    elif args.action == "stop":
        stopped = warehouse.stop_embedded(settings)
        print("stopped the embedded PostgreSQL" if stopped else "the embedded PostgreSQL was not running")
    else:
        url = warehouse.resolve_url(settings)
        if args.demo:  # the database `knackhouse demo` builds its marts in, on the same server
            url = warehouse.with_database(url, warehouse.DEMO_DATABASE)
        print(warehouse.masked_url(url))  # the password never: it shows as ***
    return 0


def _simulate_arguments(parser: argparse.ArgumentParser) -> None:
    from simulator.cli import add_arguments

    add_arguments(parser)


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from simulator.cli import simulate

    return simulate(args, settings)


def _flow_command(name: str) -> Handler:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        try:
            from flows import cli as flows_cli
        except ImportError:
            return _not_built(name)(args, settings)
        command = getattr(flows_cli, name, None)
        if command is None:
            return _not_built(name)(args, settings)
        return command(args, settings)

    return handler


class _Version(argparse.Action):
    """`--version`, reading the installed version only when asked."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        import knackhouse

        print(f"knackhouse {knackhouse.__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="knackhouse",
        description="Copy a Knack app into PostgreSQL and model it into tables analysts can trust.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser("demo", help="run the daily flow against the bundled simulator, end to end")
    demo.add_argument("--scale", type=float, default=1.0, help="size of the demo app (1 = a realistic platform)")
    demo.add_argument("--days", type=int, default=5, help="simulated days of change after the initial load")
    demo.add_argument("--seed", type=int, default=42)
    demo.set_defaults(handler=_flow_command("demo"))

    run = commands.add_parser("run", help="one run of the daily flow against the configured Knack app")
    run.add_argument("--dry-run", action="store_true", help="write nothing; report what would change")
    run.add_argument("--full-refresh", action="store_true", help="rebuild every model from raw")
    run.add_argument("--reconcile", action="store_true", help="add the full-scan deletion check")
    run.add_argument(
        "--reopen-year",
        metavar="YYYY/YYYY",
        action="append",
        default=[],
        help="rebuild a closed academic year (logged)",
    )
    run.add_argument("--as-of", metavar="YYYY-MM-DD", help="the run's date for academic years (default today)")
    run.set_defaults(handler=_flow_command("run"))

    serve = commands.add_parser("serve", help="serve the daily Prefect deployment from this process")
    serve.add_argument("--cron", default=None, help="cron schedule (default KNACKHOUSE_CRON or 0 2 * * *)")
    serve.add_argument("--timezone", default=None, help="time zone of the cron (default KNACKHOUSE_TIMEZONE or UTC)")
    serve.set_defaults(handler=_flow_command("serve"))

    deploy = commands.add_parser("deploy", help="register the daily deployment on the Prefect server of "
                                 "PREFECT_API_URL, for a work pool's process workers")
    deploy.add_argument("--pool", required=True, metavar="NAME", help="the work pool (created as a process "
                        "pool if missing)")
    deploy.add_argument("--cron", default=None, help="cron schedule (default KNACKHOUSE_CRON or 0 2 * * *)")
    deploy.add_argument("--timezone", default=None, help="time zone of the cron (default KNACKHOUSE_TIMEZONE or UTC)")
    deploy.set_defaults(handler=_flow_command("deploy"))

    ci = commands.add_parser("ci", help="build dbt, its tests and the guards against a throwaway database")
    ci.add_argument("--scale", type=float, default=0.02)
    ci.add_argument("--seed", type=int, default=7)
    ci.set_defaults(handler=_flow_command("ci"))

    simulate = commands.add_parser("simulate", help="run the Knack API simulator in the foreground")
    _simulate_arguments(simulate)
    simulate.set_defaults(handler=_simulate)

    warehouse = commands.add_parser("warehouse", help="the embedded PostgreSQL: start, stop, url")
    warehouse.add_argument("action", choices=["start", "stop", "url"])
    warehouse.add_argument("--demo", action="store_true",
                           help="with url: the database `knackhouse demo` builds its marts in")
    warehouse.set_defaults(handler=_warehouse)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        configure_environment(settings)
        return int(args.handler(args, settings) or 0)
    except KnackhouseError as error:
        print(f"knackhouse {args.command}: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"knackhouse {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
